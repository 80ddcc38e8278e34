import type { ConsoleFeed } from "./feed.ts";

/** A route of the console: answers a GET. */
export type ConsoleRoute = (request: Request) => Response | Promise<Response>;

/** What the HTTP handler mounts for the console. */
export interface ConsoleRoutes {
  /** The page and its script and style: served to anyone who may reach the listener. */
  readonly pages: Readonly<Record<string, ConsoleRoute>>;
  /** `GET /console/feed`: the live data, behind the admin token when there is one. */
  readonly feed: ConsoleRoute;
}

/** Path → file under `assets/`, and its content type. */
const ASSETS: Readonly<Record<string, readonly [string, string]>> = {
  "/console": ["index.html", "text/html; charset=utf-8"],
  "/console/app.js": ["app.js", "text/javascript; charset=utf-8"],
  "/console/app.css": ["app.css", "text/css; charset=utf-8"],
};

/**
 * The page may load only its own files and talk only to this server: the feed (same
 * origin) and the WebSocket listener (another port when the console is on the admin port).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Reads an asset (default: the file beside this module; `deno compile` needs `--include`). */
export type ReadAsset = (name: string) => Promise<string>;

const readBesideModule: ReadAsset = (name) =>
  Deno.readTextFile(new URL(`./assets/${name}`, import.meta.url));

/**
 * The console's routes: its three files, read once and kept, and the feed. Nothing here
 * changes state: every route answers GET only, through the HTTP handler's GET-only routes.
 */
export function createConsoleRoutes(
  feed: ConsoleFeed,
  readAsset = readBesideModule,
): ConsoleRoutes {
  const cache = new Map<string, Promise<string>>();
  const pages: Record<string, ConsoleRoute> = {};
  for (const [path, [file, type]] of Object.entries(ASSETS)) {
    pages[path] = async () => {
      let text = cache.get(file);
      if (text === undefined) {
        text = readAsset(file);
        cache.set(file, text);
        text.catch(() => cache.delete(file)); // a failed read is tried again next time
      }
      return new Response(await text, {
        headers: {
          "content-type": type,
          "cache-control": "no-cache",
          "content-security-policy": CONTENT_SECURITY_POLICY,
          "x-content-type-options": "nosniff",
          "referrer-policy": "no-referrer",
        },
      });
    };
  }
  return { pages, feed: () => feed.stream() };
}
