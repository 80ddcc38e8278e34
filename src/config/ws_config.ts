/**
 * Per-connection limits, named as the ws server's `limits` option (its `SessionLimits`).
 * For the rate limits 0 means no limit.
 */
export interface WsLimitsConfig {
  /**
   * `PHAROS_MAX_SUBSCRIPTIONS`: subscriptions one connection may hold.
   * @default {1000}
   */
  readonly maxSubscriptions: number;
  /**
   * `PHAROS_MAX_MESSAGE_BYTES`: largest client message; bigger ones close with 1009.
   * @default {65536}
   */
  readonly maxMessageBytes: number;
  /**
   * `PHAROS_QUEUE_FRAMES`: outbound frames queued before a slow consumer is dropped.
   * @default {512}
   */
  readonly queueMaxFrames: number;
  /**
   * `PHAROS_QUEUE_BYTES`: outbound bytes queued before a slow consumer is dropped.
   * @default {8388608}
   */
  readonly queueMaxBytes: number;
  /**
   * `PHAROS_MAX_SNAPSHOT_ROWS`: entities one subscription's snapshot sends at most.
   * @default {10000}
   */
  readonly maxSnapshotRows: number;
  /**
   * `PHAROS_MAX_MESSAGES_PER_MINUTE`: client messages per connection per minute.
   * @default {1200}
   */
  readonly maxMessagesPerMinute: number;
  /**
   * `PHAROS_MAX_BYTES_PER_MINUTE`: bytes sent to one connection per minute.
   * @default {536870912}
   */
  readonly maxBytesPerMinute: number;
}

/** Upgrade admission limits, named as the ws server's `admission` option; 0 means no limit. */
export interface WsAdmissionConfig {
  /**
   * `PHAROS_MAX_CONNECTIONS_PER_IP`: connections per client IP.
   * @default {1000}
   */
  readonly maxConnectionsPerIp: number;
  /**
   * `PHAROS_MAX_CONNECTIONS_PER_SUBJECT`: connections per token subject.
   * @default {100}
   */
  readonly maxConnectionsPerSubject: number;
  /**
   * `PHAROS_MAX_CONNECTIONS_PER_ORIGIN`: connections per browser Origin.
   * @default {10000}
   */
  readonly maxConnectionsPerOrigin: number;
  /**
   * `PHAROS_HANDSHAKES_PER_MINUTE`: WebSocket upgrades per client IP per minute.
   * @default {600}
   */
  readonly handshakesPerMinutePerIp: number;
}

/** The `ws` component's tunables, named as `createWsServer`'s options. */
export interface WsConfig {
  /**
   * `PHAROS_MAX_CLIENTS`: WebSocket clients at once; beyond it the upgrade gets 503.
   * @default {10000}
   */
  readonly maxClients: number;
  /**
   * `PHAROS_IDLE_TIMEOUT_MS`: close clients that send nothing for this long.
   * @default {300000}
   */
  readonly idleTimeoutMs: number;
  /**
   * Per-connection limits. A token's `limits` claim replaces them for its holder, up or
   * down (the issuer is trusted to grant more; see the protocol's `TokenLimits`).
   */
  readonly limits: WsLimitsConfig;
  /** Checked at the upgrade, before a connection is let in. */
  readonly admission: WsAdmissionConfig;
}

/** Defaults of the `ws` slice. */
export const WS_DEFAULTS: WsConfig = Object.freeze({
  maxClients: 10_000,
  idleTimeoutMs: 300_000,
  limits: Object.freeze({
    maxSubscriptions: 1_000,
    maxMessageBytes: 65_536,
    queueMaxFrames: 512,
    queueMaxBytes: 8 * 1024 * 1024,
    maxSnapshotRows: 10_000,
    maxMessagesPerMinute: 1_200,
    maxBytesPerMinute: 512 * 1024 * 1024,
  }),
  admission: Object.freeze({
    maxConnectionsPerIp: 1_000,
    maxConnectionsPerSubject: 100,
    maxConnectionsPerOrigin: 10_000,
    handshakesPerMinutePerIp: 600,
  }),
});
