import { getLogger } from "../../src/log/mod.ts";
import { createUpstreamSource } from "../../src/sources/mod.ts";
import { systemClock } from "../../src/util/mod.ts";
import { UpstreamFeed } from "../fakes/upstream_feed.ts";
import { runSourceContract } from "../contract/source_contract.ts";
import { until } from "../wait.ts";

const log = getLogger(["pharos", "test", "contract", "upstream"]);

runSourceContract("upstream", () => {
  const feed = new UpstreamFeed();
  return {
    production: "live",
    delivery: "sink",
    supportsResume: true,
    create: (resumeFrom) =>
      createUpstreamSource({
        url: feed.url,
        clock: systemClock,
        log,
        backoff: { initialMs: 20, maxMs: 100 },
        // The feed replays its log from `from` inclusive, so resuming is lossless.
        subscribe: JSON.stringify({ type: "subscribe", from: "{{cursor}}" }),
        ...(resumeFrom === undefined ? {} : { resumeFrom }),
      }),
    async produce(events) {
      // A real feed starts a connection's live stream after its replay. This fake sends
      // live events to every open socket at once, so publishing before it has answered a
      // connection's subscribe would put new events ahead of the replay of older ones.
      // With no socket open (stopped, broken) the events only join the log, for later.
      await until(
        () => feed.sockets.size === 0 || feed.subscribes.length >= feed.requests.length,
        "the feed to answer every subscribe",
      );
      feed.publish(...events);
    },
    /** The source closed its socket: nothing the feed sends reaches it any more. */
    disconnected: () => until(() => feed.sockets.size === 0, "the source to close its socket"),
    breakUpstream: () => feed.kill(),
    [Symbol.asyncDispose]: () => feed.kill(),
  };
});
