/**
 * The console at `/console` in a real headless Chromium (Debian's `chromium`, over the
 * DevTools protocol): on a default `deno task start` it shows the demo source Connected,
 * lists Token/list, holds the same live entity keys as HyperStack's client subscribed to
 * the same view, shows a newly connected client, and logs no script errors, on a phone-
 * sized window and a large one; a row updates when an event for it is ingested; with the
 * admin port and token set, it asks for the token and refuses a wrong one.
 *
 * `CONSOLE_SCREENSHOT=/tmp/console.png deno task test tests/system/console_test.ts`
 * also writes the README's screenshot (copy it to docs/console.png; tests may write only /tmp).
 */
import assert from "node:assert/strict";
import { HyperStack } from "hyperstack-typescript";
import { freePort } from "../fakes/auth_keys.ts";
import { launchChromium, type Page } from "../fakes/chromium.ts";
import { spawnDeno, spawnServer } from "../fakes/server_process.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { ROOT } from "../integration/_tasks.ts";
import { tokenStack } from "../integration/_helpers.ts";
import { realTime, until } from "../wait.ts";

/** Keys of the console's entity table, as shown. */
const TABLE_KEYS = `[...document.querySelectorAll("#entity-rows tr")].map((tr) => tr.dataset.key)`;
/** Rows of a table body, as arrays of cell texts. */
const cells = (tbody: string) =>
  `[...document.querySelectorAll("#${tbody} tr")].map((tr) => [...tr.cells].map((td) => td.textContent))`;

/** No horizontal scrolling: the page fits the window it is shown in. */
async function fitsWindow(page: Page): Promise<void> {
  const { scroll, inner } = await page.evaluate<{ scroll: number; inner: number }>(
    "({ scroll: document.documentElement.scrollWidth, inner: innerWidth })",
  );
  assert.ok(scroll <= inner, `the page is ${scroll} px wide in a ${inner} px window`);
}

Deno.test("console on a default deno task start, in a real Chromium", async (t) => {
  const port = freePort();
  // `deno task start`, as the README starts Pharos: the demo source, nothing configured.
  const server = spawnDeno(
    ["task", "--quiet", "start", "--port", String(port), "--host", "127.0.0.1"],
    {},
    { cwd: ROOT },
  );
  await using _server = {
    async [Symbol.asyncDispose]() {
      // The task runner passes SIGTERM on to the server (SIGKILL could not be): it drains.
      server.child.kill("SIGTERM");
      await server.exited;
    },
  };
  assert.equal(await server.port, port);
  const base = `http://127.0.0.1:${port}`;
  await using browser = await launchChromium();
  const page = await browser.newPage();
  await page.setViewport(1600, 1000);
  await page.navigate(`${base}/console`);

  await t.step("the demo source is shown Connected and Token/list is listed", async () => {
    await page.waitFor(
      `${cells("sources")}.some((row) => row[0] === "demo" && row[2] === "Connected")`,
      "the demo source Connected",
    );
    const views = await page.waitFor<string[][]>(
      `${cells("views")}.length > 0 && ${cells("views")}`,
      "the views table",
    );
    assert.ok(views.some((row) => row[0] === "Token/list" && row[1] === "list"), `${views}`);
    assert.equal(await page.evaluate(`document.getElementById("ready").textContent`), "ready");
    assert.equal(await page.evaluate(`document.getElementById("view-select").value`), "Token/list");
  });

  await t.step("its entity keys are the ones HyperStack's client sees on Token/list", async () => {
    const url = `ws://127.0.0.1:${port}`;
    const hs = await HyperStack.connect(tokenStack(url), { url });
    using _hs = { [Symbol.dispose]: () => hs.disconnect() };
    const watching = hs.views.Token.list.watch()[Symbol.asyncIterator]();
    await using _watching = {
      [Symbol.asyncDispose]: async () => void await watching.return?.(),
    };
    const hsKeys = () =>
      ((hs.views.Token.list.getSync() ?? []) as { mint: string }[]).map((t) => t.mint).sort();
    // The demo source spreads its transfers over 20 mints: both end up holding all of them.
    await until(
      () => hsKeys().length === 20,
      "HyperStack's client to hold the 20 demo mints",
      15_000,
    );
    const shown = await page.waitFor<string[]>(
      `${TABLE_KEYS}.length === 20 && ${TABLE_KEYS}`,
      "the console's table to hold 20 keys",
      15_000,
    );
    assert.deepEqual([...shown].sort(), hsKeys());
    // A live patch: the newest _seq the console shows is one the client has seen too.
    const newest = await page.evaluate<string>(
      `document.querySelector("#entity-rows tr td:last-child").textContent`,
    );
    assert.match(newest, /^\d+:\d{12}$/);
  });

  await t.step("a newly connected client appears in the clients table", async () => {
    const idsBefore = (await page.evaluate<string[][]>(cells("clients"))).map((row) => row[0]);
    await using client = await TestClient.connect(`ws://127.0.0.1:${port}/`);
    client.send({ type: "subscribe", view: "Token/state", key: "mint0" });
    const rows = await page.waitFor<string[][]>(
      `(${cells("clients")}).filter((row) => !${
        JSON.stringify(idsBefore)
      }.includes(row[0])).length > 0 && ${cells("clients")}`,
      "a new client row",
    );
    const added = rows.find((row) => !idsBefore.includes(row[0]!))!;
    assert.match(added[1]!, /^127\.0\.0\.1:\d+$/, "its address");
    assert.equal(added[2], "1", "its one subscription");
  });

  await t.step("clicking a row shows its full state", async () => {
    await page.evaluate(`document.querySelector("#entity-rows tr").click()`);
    const detail = await page.waitFor<string>(
      `!document.getElementById("entity-detail").hidden && document.getElementById("detail-state").textContent`,
      "the row's detail",
    );
    assert.match(detail, /"transferCount": \d+/);
  });

  await t.step("charts fill and logs render; phone-sized and large windows fit", async () => {
    await page.waitFor(
      `[...document.querySelectorAll("canvas")].every((c) => c.width > 0)`,
      "the charts drawn",
    );
    await fitsWindow(page);
    await page.setViewport(390, 844, true);
    await page.waitFor(`innerWidth === 390`, "the phone-sized window");
    await fitsWindow(page);
    if (Deno.env.get("CONSOLE_SCREENSHOT")) {
      await page.setViewport(1400, 1100);
      // The screenshot for the README: a few chart points, one a second on the server's clock.
      await realTime(3_000, "the console charts a point a second (a real server process)");
      await Deno.writeFile(Deno.env.get("CONSOLE_SCREENSHOT")!, await page.screenshot());
    }
  });

  await t.step("no script error, console error or failed load on the page", () => {
    assert.deepEqual(page.problems, []);
  });
});

Deno.test("console: a row updates when an event for it is ingested; warnings are listed", async () => {
  const server = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_SOURCES: "ingest",
    PHAROS_INGEST_TOKEN: "t",
    // The page's own entity socket is one; a second and a third client hit the limit.
    PHAROS_MAX_CONNECTIONS_PER_IP: "2",
  });
  await using _server = server;
  const port = await server.port;
  await using browser = await launchChromium();
  const page = await browser.newPage();
  await page.navigate(`http://127.0.0.1:${port}/console`);
  const ingest = async (slot: number) => {
    const response = await fetch(`http://127.0.0.1:${port}/ingest`, {
      method: "POST",
      headers: { authorization: "Bearer t" },
      body: JSON.stringify({
        type: "Transfer",
        slot,
        index: 0,
        data: { mint: "console-mint", from: "a", to: "b", amount: "5" },
      }),
    });
    assert.equal(response.status, 202);
  };
  await page.waitFor(`document.getElementById("view-select").value === "Token/list"`, "Token/list");
  await page.waitFor(`document.getElementById("entity-state").textContent === ""`, "the socket");
  await ingest(100);
  const row = (field: string) =>
    `[...document.querySelectorAll("#entity-rows tr")].find((tr) => tr.dataset.key === "console-mint")?.${field}`;
  await page.waitFor(row("dataset.key"), "the ingested mint's row");
  const column = await page.evaluate<number>(
    `[...document.querySelectorAll("#entity-head th")].findIndex((th) => th.textContent === "transferCount")`,
  );
  assert.ok(column > 0, "a transferCount column");
  const count = () => page.evaluate<string>(`${row("cells")}[${column}].textContent`);
  assert.equal(await count(), "1");
  await ingest(101);
  await page.waitFor(`${row("cells")}[${column}].textContent === "2"`, "the row updated");
  assert.equal(await page.evaluate(`${row("classList")}.contains("flash")`), true, "it flashes");
  assert.equal(
    await page.evaluate(`${row("cells")}[${await page.evaluate<number>(
      `document.querySelectorAll("#entity-head th").length - 1`,
    )}].textContent`),
    "101:000000000000",
    "its _seq",
  );

  // A warning from the server shows in the page's log list.
  await using client = await TestClient.connect(`ws://127.0.0.1:${port}/`);
  const refused = new TestClient(`ws://127.0.0.1:${port}/`);
  await assert.rejects(refused.opened);
  await refused[Symbol.asyncDispose]();
  const warning = await page.waitFor<string>(
    `[...document.querySelectorAll("#logs li")].map((li) => li.textContent).find((text) => text.includes("Refused WebSocket connection"))`,
    "the refusal in the page's warnings",
  );
  assert.match(
    warning,
    /WARNING pharos\.ws: Refused WebSocket connection from 127\.0\.0\.1:\d+/,
  );
  assert.ok(client.socket.readyState === WebSocket.OPEN);
  assert.deepEqual(page.problems, []);
  server.child.kill("SIGTERM");
  await server.exited;
});

Deno.test("console behind the admin port and token: it asks, and refuses a wrong token", async () => {
  const adminPort = freePort();
  const server = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_ADMIN_PORT: String(adminPort),
    PHAROS_ADMIN_TOKEN: "s3cret-admin",
  });
  await using _server = server;
  const port = await server.port;
  assert.notEqual(port, adminPort);
  // Moved to the admin listener: the public one does not serve it.
  const moved = await fetch(`http://127.0.0.1:${port}/console`);
  await moved.body?.cancel();
  assert.equal(moved.status, 404);
  const feed = await fetch(`http://127.0.0.1:${adminPort}/console/feed`);
  await feed.body?.cancel();
  assert.equal(feed.status, 401, "the feed needs the token");

  await using browser = await launchChromium();
  const page = await browser.newPage();
  await page.navigate(`http://127.0.0.1:${adminPort}/console`);
  await page.waitFor(`document.getElementById("token-dialog").open`, "the token prompt");
  const submit = (token: string) =>
    page.evaluate(`(() => {
      document.getElementById("token-input").value = ${JSON.stringify(token)};
      document.getElementById("token-form").requestSubmit();
    })()`);
  await submit("wrong-token");
  await page.waitFor(
    `document.getElementById("token-dialog").open && !document.getElementById("token-refused").hidden`,
    "the wrong token refused",
  );
  assert.equal(await page.evaluate(`sessionStorage.getItem("pharos-admin-token")`), null);
  await submit("s3cret-admin");
  await page.waitFor(
    `${cells("sources")}.some((row) => row[0] === "demo" && row[2] === "Connected")`,
    "the console open with the right token",
  );
  assert.equal(await page.evaluate(`document.getElementById("token-dialog").open`), false);
  // Entities come from the public listener, whose port the feed names.
  await page.waitFor(`${TABLE_KEYS}.length > 0`, "entities over the public port");
  // The 401s of the refused feed are expected; nothing else may have failed.
  assert.deepEqual(
    page.problems.filter((p) => !/401/.test(p.text)),
    [],
  );
  server.child.kill("SIGTERM");
  await server.exited;
});
