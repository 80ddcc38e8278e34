/** Log output formats: one human-readable text line per record, or JSON Lines. */
export const LOG_FORMATS = ["text", "json"] as const;
/** A log output format. */
export type LogFormat = (typeof LOG_FORMATS)[number];
