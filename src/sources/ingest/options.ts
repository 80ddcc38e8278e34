/** The ingest source's options (`PHAROS_INGEST_*`). */
export interface IngestOptions {
  /**
   * `PHAROS_INGEST_TOKEN`: bearer token producers present; empty means not set.
   * @default {""}
   */
  readonly token: string;
  /**
   * `PHAROS_INGEST_MAX_BYTES`: largest POST body and WebSocket ingest message.
   * @default {1048576}
   */
  readonly maxBodyBytes: number;
}

/** Defaults of the ingest source's options. */
export const INGEST_DEFAULTS: IngestOptions = Object.freeze({
  token: "",
  maxBodyBytes: 1024 * 1024,
});
