/** The upstream source's options (`PHAROS_UPSTREAM_*`); empty means not set. */
export interface UpstreamOptions {
  /**
   * `PHAROS_UPSTREAM_URL`: ws:// or wss:// URL of the upstream feed.
   * @default {""}
   */
  readonly url: string;
  /**
   * `PHAROS_UPSTREAM_TOKEN`: sent as `Authorization: Bearer`.
   * @default {""}
   */
  readonly token: string;
  /**
   * `PHAROS_UPSTREAM_SUBSCRIBE`: JSON object sent on every (re)connect.
   * @default {""}
   */
  readonly subscribe: string;
}

/** Defaults of the upstream source's options. */
export const UPSTREAM_DEFAULTS: UpstreamOptions = Object.freeze({
  url: "",
  token: "",
  subscribe: "",
});
