import type { Logger } from "../../log/mod.ts";
import type { PharosEvent } from "../../stack/mod.ts";
import type { Clock } from "../../util/mod.ts";
import type { Source, SourceContext } from "../types.ts";
import { DEMO_DEFAULTS } from "./options.ts";
import { errorMessage } from "../../util/mod.ts";

/** Options for {@link createDemoSource}. */
export interface DemoSourceOptions {
  readonly clock: Clock;
  /** Default "demo". */
  readonly name?: string;
  /** Events per second; 0 pauses the generator. Default {@link DEMO_DEFAULTS}. */
  readonly ratePerSecond?: number;
  /** Distinct mints cycled through; default {@link DEMO_DEFAULTS}. */
  readonly keys?: number;
  /** PRNG seed, for reproducible streams; default 1. */
  readonly seed?: number;
  /** Milliseconds per slot when deriving slots from the wall clock; default 400 (Solana's pace). */
  readonly slotMs?: number;
  /** `pharos.sources.demo`, for its debug lines; default none. */
  readonly log?: Logger;
}

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** mulberry32: small, fast and good enough for demo data. */
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function address(random: () => number): string {
  let out = "";
  for (let i = 0; i < 44; i++) out += BASE58[Math.floor(random() * BASE58.length)];
  return out;
}

/**
 * Creates the demo source: `Transfer` events for a fixed set of mints at a steady rate,
 * with slots derived from the wall clock so cursors keep increasing across restarts.
 * Amounts reach 10^15, so token volumes soon pass 2^53 and exercise big-integer encoding.
 */
export function createDemoSource(options: DemoSourceOptions): Source {
  const { clock, log } = options;
  const name = options.name ?? "demo";
  const rate = options.ratePerSecond ?? DEMO_DEFAULTS.ratePerSecond;
  const random = createRandom(options.seed ?? 1);
  const mints = Array.from(
    { length: options.keys ?? DEMO_DEFAULTS.keys },
    () => address(random),
  );
  const wallets = Array.from({ length: 64 }, () => address(random));
  const slotMs = options.slotMs ?? 400;
  let timer: Disposable | undefined;
  let running = false;
  // Told of the stop, as every kind is: a stopped source must not stay `connected`.
  let current: SourceContext | undefined;
  let tick: Promise<void> = Promise.resolve();
  let emitted = 0;
  let startedAt = 0;

  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

  function nextEvent(): PharosEvent {
    const amount = BigInt(1 + Math.floor(random() * 1e9)) * 1_000_000n;
    return {
      type: "Transfer",
      slot: Math.floor(clock.now() / slotMs),
      data: {
        mint: mints[emitted % mints.length],
        from: pick(wallets),
        to: pick(wallets),
        amount: amount.toString(),
      },
    };
  }

  async function emitDue(context: SourceContext): Promise<void> {
    const due = Math.floor(((clock.monotonic() - startedAt) * rate) / 1000);
    // After a stall, catch up at most one second's worth instead of bursting.
    if (due - emitted > rate) {
      const skipped = due - Math.max(1, rate) - emitted;
      emitted += skipped;
      log?.debug("Source {source} fell behind: {skipped} events skipped", {
        source: name,
        skipped,
      });
    }
    while (running && emitted < due) {
      const event = nextEvent();
      emitted++;
      await context.sink(event);
    }
  }

  function schedule(context: SourceContext): void {
    if (!running) return;
    const everyMs = Math.max(10, Math.floor(1000 / rate));
    timer = clock.setTimer(everyMs, () => {
      timer = undefined;
      tick = emitDue(context).then(
        () => schedule(context),
        (error) => {
          context.onStatus("error", errorMessage(error));
          schedule(context);
        },
      );
    });
  }

  return {
    name,
    kind: "demo",
    stream: `Transfer events, ${rate}/s over ${mints.length} mints`,
    start(context) {
      if (running) return Promise.resolve();
      running = true;
      current = context;
      startedAt = clock.monotonic();
      emitted = 0;
      log?.debug("Source {source} generates {rate_per_second} events/s over {keys} mints", {
        source: name,
        rate_per_second: rate,
        keys: mints.length,
      });
      context.onStatus("connected");
      if (rate > 0) schedule(context);
      return Promise.resolve();
    },
    async stop() {
      const stopped = running ? current : undefined;
      running = false;
      timer?.[Symbol.dispose]();
      timer = undefined;
      await tick;
      stopped?.onStatus("disconnected");
    },
  };
}
