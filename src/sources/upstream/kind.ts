import type { SourceKind } from "../kind.ts";
import { UPSTREAM_DEFAULTS, type UpstreamOptions } from "./options.ts";
import { createUpstreamSource } from "./upstream_source.ts";

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * `{ kind: "upstream", url, token?, headers?, subscribe? }`: events from an upstream
 * WebSocket feed, resumed from the last `_seq` after a reconnect.
 */
export const upstreamKind: SourceKind<"upstream", UpstreamOptions> = {
  kind: "upstream",
  singleton: true,
  unique: false,
  options: [
    {
      field: "url",
      env: "PHAROS_UPSTREAM_URL",
      flag: "upstream-url",
      type: { kind: "wsUrl" },
      defaultText: "(none)",
      description:
        "ws:// or wss:// URL of the upstream event feed; required for the upstream source",
    },
    {
      field: "token",
      env: "PHAROS_UPSTREAM_TOKEN",
      flag: "upstream-token",
      type: { kind: "secret" },
      defaultText: "(none)",
      description: "Sent to the upstream as Authorization: Bearer",
    },
    {
      field: "subscribe",
      env: "PHAROS_UPSTREAM_SUBSCRIBE",
      flag: "upstream-subscribe",
      type: { kind: "jsonObject" },
      defaultText: "(none)",
      description:
        'JSON message sent on every (re)connect; the string "{{cursor}}" becomes the last seen _seq (the field is dropped before the first event)',
    },
  ],
  defaults: UPSTREAM_DEFAULTS,
  optionProblems: (options, listed) =>
    listed && options.url === ""
      ? ["PHAROS_SOURCES includes upstream: set PHAROS_UPSTREAM_URL"]
      : [],
  specOf: ({ url, token, subscribe }) => ({
    url,
    ...(token === "" ? {} : { token }),
    ...(subscribe === "" ? {} : { subscribe: JSON.parse(subscribe) }),
  }),
  specProblems(spec, at) {
    const problems: string[] = [];
    if (typeof spec.url !== "string" || !/^wss?:\/\/./.test(spec.url)) {
      problems.push(`${at}: url must be a ws:// or wss:// URL`);
    }
    if (spec.token !== undefined && typeof spec.token !== "string") {
      problems.push(`${at}: token must be a string`);
    }
    if (spec.headers !== undefined && !isRecord(spec.headers)) {
      problems.push(`${at}: headers must be an object of strings`);
    }
    if (spec.subscribe !== undefined && !isRecord(spec.subscribe)) {
      problems.push(`${at}: subscribe must be an object`);
    }
    return problems;
  },
  create: (spec, _options, { name, clock, log }) => ({
    source: createUpstreamSource({
      name,
      url: spec.url as string,
      clock,
      log,
      ...(spec.token === undefined ? {} : { token: spec.token as string }),
      ...(spec.headers === undefined
        ? {}
        : { headers: spec.headers as Readonly<Record<string, string>> }),
      ...(spec.subscribe === undefined ? {} : { subscribe: JSON.stringify(spec.subscribe) }),
    }),
  }),
};
