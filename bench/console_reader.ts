/**
 * One open console, as the browser page loads the server: the admin feed
 * (`GET /console/feed`, read as it streams) and a WebSocket subscribed to `Token/list`
 * (the entity table), each frame decoded as the page decodes it. Run in the orchestrator,
 * so the server pays what a console costs it and the browser's own drawing costs nobody.
 */
import { textOf } from "./cluster_probe.ts";

/** A console held open against a server; dispose it to close it. */
export interface OpenConsole extends AsyncDisposable {
  /** Feed updates and entity frames received so far. */
  counts(): { updates: number; frames: number };
}

/** Opens the feed and the entity socket of the server on `port`. */
export async function openConsole(port: number): Promise<OpenConsole> {
  const abort = new AbortController();
  const response = await fetch(`http://127.0.0.1:${port}/console/feed`, { signal: abort.signal });
  if (!response.ok || response.body === null) {
    throw new Error(`the console feed answered ${response.status}`);
  }
  let updates = 0;
  let frames = 0;
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) {
      const text = decoder.decode(chunk, { stream: true });
      for (const _ of text.matchAll(/^event: update$/gm)) updates++;
    }
  })().catch(() => {});
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
  socket.binaryType = "arraybuffer";
  const decoder = new TextDecoder();
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error("the console's entity socket did not open"));
  });
  socket.onmessage = async (message) => {
    JSON.parse(await textOf(message.data, decoder));
    frames++;
  };
  socket.send(JSON.stringify({ type: "subscribe", view: "Token/list" }));
  return {
    counts: () => ({ updates, frames }),
    async [Symbol.asyncDispose]() {
      socket.close();
      abort.abort();
      await reading;
    },
  };
}
