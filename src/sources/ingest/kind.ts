import type { SourceKind } from "../kind.ts";
import { createIngestSource, INGEST_PATH } from "./ingest_source.ts";
import { INGEST_DEFAULTS, type IngestOptions } from "./options.ts";

const NEVER_OPEN = "set PHAROS_INGEST_TOKEN (ingest is never open)";

/** `{ kind: "ingest" }`: producers post events to `/ingest`, or stream them over a socket. */
export const ingestKind: SourceKind<"ingest", IngestOptions> = {
  kind: "ingest",
  // Producers post to any instance; each appends to the shared log itself.
  singleton: false,
  unique: true,
  options: [
    {
      field: "token",
      env: "PHAROS_INGEST_TOKEN",
      flag: "ingest-token",
      type: { kind: "secret" },
      defaultText: "(none)",
      description: `Bearer token for ${INGEST_PATH}; required when ingest is enabled`,
    },
    {
      field: "maxBodyBytes",
      env: "PHAROS_INGEST_MAX_BYTES",
      flag: "ingest-max-bytes",
      type: { kind: "int", min: 1024, max: 1024 * 1024 * 1024 },
      description: `Largest POST ${INGEST_PATH} body (413 beyond it) and WebSocket ingest message`,
    },
  ],
  defaults: INGEST_DEFAULTS,
  optionProblems(options, listed) {
    if (listed && options.token === "") return [`PHAROS_SOURCES includes ingest: ${NEVER_OPEN}`];
    if (!listed && options.token !== "") {
      return ["PHAROS_INGEST_TOKEN is set but PHAROS_SOURCES does not include ingest"];
    }
    return [];
  },
  specOf: () => ({}),
  specProblems: () => [],
  create(_spec, options, { name, clock, log, upgrade }) {
    if (options.token === "") return { problems: [`source "${name}" is ingest: ${NEVER_OPEN}`] };
    return { source: createIngestSource({ name, ...options, clock, log, upgrade }) };
  },
};
