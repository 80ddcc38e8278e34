/** Replay paces: as recorded (the events' timestamps) or as fast as the pipeline takes them. */
export const REPLAY_PACES = ["recorded", "fast"] as const;
/** A replay pace. */
export type ReplayPace = (typeof REPLAY_PACES)[number];

/** The replay source's options (`PHAROS_REPLAY_*`). */
export interface ReplayOptions {
  /**
   * `PHAROS_REPLAY_FILE`: NDJSON file of events; empty means not set.
   * @default {""}
   */
  readonly file: string;
  /**
   * `PHAROS_REPLAY_PACE`: as the events' timestamps say, or as fast as the pipeline takes them.
   * @default {"recorded"}
   */
  readonly pace: ReplayPace;
}

/** Defaults of the replay source's options. */
export const REPLAY_DEFAULTS: ReplayOptions = Object.freeze({ file: "", pace: "recorded" });
