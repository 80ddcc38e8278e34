import type { SourceKind } from "../kind.ts";
import { REPLAY_DEFAULTS, REPLAY_PACES, type ReplayOptions, type ReplayPace } from "./options.ts";
import { createReplaySource } from "./replay_source.ts";

/** `{ kind: "replay", file, pace? }`: events read back from an NDJSON recording. */
export const replayKind: SourceKind<"replay", ReplayOptions> = {
  kind: "replay",
  singleton: true,
  unique: false,
  options: [
    {
      field: "file",
      env: "PHAROS_REPLAY_FILE",
      flag: "replay-file",
      type: { kind: "string" },
      defaultText: "(none)",
      description: "NDJSON file of events to replay; required for the replay source",
    },
    {
      field: "pace",
      env: "PHAROS_REPLAY_PACE",
      flag: "replay-pace",
      type: { kind: "choice", choices: REPLAY_PACES },
      description:
        "recorded (wait as the events' timestamps say) or fast (as fast as the pipeline takes them)",
    },
  ],
  defaults: REPLAY_DEFAULTS,
  optionProblems: (options, listed) =>
    listed && options.file === "" ? ["PHAROS_SOURCES includes replay: set PHAROS_REPLAY_FILE"] : [],
  specOf: ({ file, pace }) => ({ file, pace }),
  specProblems(spec, at) {
    const problems: string[] = [];
    if (typeof spec.file !== "string" || spec.file === "") problems.push(`${at}: file is required`);
    if (spec.pace !== undefined && !(REPLAY_PACES as readonly unknown[]).includes(spec.pace)) {
      problems.push(`${at}: pace must be "recorded" or "fast"`);
    }
    return problems;
  },
  create: (spec, options, { name, clock, log }) => ({
    source: createReplaySource({
      name,
      file: spec.file as string,
      pace: (spec.pace as ReplayPace | undefined) ?? options.pace,
      clock,
      log,
    }),
  }),
};
