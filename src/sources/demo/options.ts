/** The demo source's options (`PHAROS_DEMO_*`). */
export interface DemoOptions {
  /**
   * `PHAROS_DEMO_RATE`: events per second; 0 pauses the generator.
   * @default {10}
   */
  readonly ratePerSecond: number;
  /**
   * `PHAROS_DEMO_KEYS`: distinct mints the generator cycles through.
   * @default {20}
   */
  readonly keys: number;
}

/** Defaults of the demo source's options. */
export const DEMO_DEFAULTS: DemoOptions = Object.freeze({ ratePerSecond: 10, keys: 20 });
