import assert from "node:assert/strict";
import {
  AUTH_DEFAULTS,
  LOG_DEFAULTS,
  PIPELINE_DEFAULTS,
  PROJECTOR_DEFAULTS,
  SERVER_DEFAULTS,
  VM_DEFAULTS,
  WS_DEFAULTS,
} from "./mod.ts";
import {
  DEMO_DEFAULTS,
  INGEST_DEFAULTS,
  REPLAY_DEFAULTS,
  UPSTREAM_DEFAULTS,
} from "../sources/mod.ts";

/** Each slice interface and the defaults object that fills it. */
const SLICES: Record<string, [file: string, defaults: object]> = {
  ServerConfig: ["server_config.ts", SERVER_DEFAULTS],
  LogConfig: ["log_config.ts", LOG_DEFAULTS],
  // The sources slice holds each kind's options, in the kind's own folder.
  DemoOptions: ["../sources/demo/options.ts", DEMO_DEFAULTS],
  IngestOptions: ["../sources/ingest/options.ts", INGEST_DEFAULTS],
  UpstreamOptions: ["../sources/upstream/options.ts", UPSTREAM_DEFAULTS],
  ReplayOptions: ["../sources/replay/options.ts", REPLAY_DEFAULTS],
  PipelineConfig: ["pipeline_config.ts", PIPELINE_DEFAULTS],
  VmConfig: ["vm_config.ts", VM_DEFAULTS],
  ProjectorConfig: ["projector_config.ts", PROJECTOR_DEFAULTS],
  WsConfig: ["ws_config.ts", WS_DEFAULTS],
  WsLimitsConfig: ["ws_config.ts", WS_DEFAULTS.limits],
  WsAdmissionConfig: ["ws_config.ts", WS_DEFAULTS.admission],
  AuthConfig: ["auth_config.ts", AUTH_DEFAULTS],
};

/** How a default reads in its `@default {…}` tag. */
function shown(value: unknown): string {
  if (typeof value === "object" && value !== null && "spec" in value) {
    return `parseLogFilter(${JSON.stringify(value.spec)})`;
  }
  return JSON.stringify(value);
}

Deno.test("each slice field's @default says what its defaults object holds", async () => {
  for (const [name, [file, defaults]] of Object.entries(SLICES)) {
    const source = await Deno.readTextFile(new URL(file, import.meta.url));
    const body = source.split(`export interface ${name} {`)[1]?.split("\n}")[0];
    assert.ok(body !== undefined, `${file} lacks interface ${name}`);
    const documented = new Map<string, string>();
    for (
      const [, value, field] of body.matchAll(/@default \{(.*)\}\n\s*\*\/\n\s*readonly (\w+)/g)
    ) {
      documented.set(field!, value!);
    }
    for (const [field, value] of Object.entries(defaults)) {
      const nested = typeof value === "object" && !Array.isArray(value) && !("spec" in value);
      if (nested) continue; // a nested slice, checked under its own interface
      assert.equal(documented.get(field), shown(value), `${name}.${field}`);
    }
  }
});
