/**
 * A TCP proxy on 127.0.0.1 in front of a real server, which can make chosen connections go
 * silent: their replies are swallowed while the socket stays open, the way a connection
 * left on a demoted Redis primary after a failover looks healthy and receives nothing.
 */
import { freePort } from "./auth_keys.ts";

interface Pipe {
  readonly client: Deno.Conn;
  readonly upstream: Deno.Conn;
  /** Everything the client has sent, as text (for `stall`'s predicate). */
  sent: string;
  silent: boolean;
}

/** The proxy; dispose closes it and every connection. */
export interface StallingProxy extends AsyncDisposable {
  readonly port: number;
  /** Silences the connections whose sent text so far matches `sent` (new ones are not). */
  stall(sent: RegExp): number;
  /** Connections made so far. */
  readonly connections: number;
}

/** Starts a proxy to `127.0.0.1:targetPort`. */
export function startStallingProxy(targetPort: number): StallingProxy {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const pipes = new Set<Pipe>();
  let connections = 0;
  const decoder = new TextDecoder();

  async function pump(from: Deno.Conn, to: Deno.Conn, pipe: Pipe, upstream: boolean) {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const read = await from.read(buffer);
        if (read === null) break;
        const chunk = buffer.subarray(0, read);
        if (!upstream) pipe.sent = (pipe.sent + decoder.decode(chunk)).slice(-4096);
        if (upstream && pipe.silent) continue;
        await to.write(chunk);
      }
    } catch {
      // either side closed
    }
    for (const conn of [pipe.client, pipe.upstream]) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    pipes.delete(pipe);
  }

  const accepting = (async () => {
    for await (const client of listener) {
      connections++;
      try {
        const upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
        const pipe: Pipe = { client, upstream, sent: "", silent: false };
        pipes.add(pipe);
        pump(client, upstream, pipe, false);
        pump(upstream, client, pipe, true);
      } catch {
        client.close();
      }
    }
  })().catch(() => {});

  return {
    port,
    get connections() {
      return connections;
    },
    stall(sent) {
      let stalled = 0;
      for (const pipe of pipes) {
        if (sent.test(pipe.sent)) {
          pipe.silent = true;
          stalled++;
        }
      }
      return stalled;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const pipe of [...pipes]) {
        for (const conn of [pipe.client, pipe.upstream]) {
          try {
            conn.close();
          } catch {
            // already closed
          }
        }
      }
      await accepting;
    },
  };
}
