// The Pharos console: a read-only page over two of the server's own interfaces. The admin
// feed (GET /console/feed, server-sent events) brings health, sources, views, clients,
// chart points and recent log records; the entity table is a plain HyperStack-protocol
// subscription on the WebSocket listener. Untrusted text (entity data, log messages, client
// addresses) only ever reaches the page as textContent.

const TOKEN_KEY = "pharos-admin-token";
/** The entity socket's own credentials (PHAROS_AUTH), sent as `hs_token` like HyperStack's client. */
const CLIENT_TOKEN_KEY = "pharos-client-token";
const MAX_ROWS = 200;
const MAX_COLUMNS = 6;
const PATCHES_KEPT = 300;

const $ = (id) => document.getElementById(id);

/** A new element with text and optional class. */
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function row(cells, className) {
  const tr = el("tr", undefined, className);
  for (const cell of cells) tr.append(cell instanceof Node ? cell : el("td", cell));
  return tr;
}

function ageText(ms) {
  if (ms === null || ms === undefined) return "never";
  if (ms < 1000) return `${Math.round(ms)} ms ago`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}

function durationText(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function valueText(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// ---------------------------------------------------------------------------------------
// The admin feed.

const feed = {
  history: [],
  views: [],
  lastSources: new Map(),
  wsPort: null,
};

function setFeedState(text) {
  $("feed-state").textContent = text;
}

function askForToken(refused) {
  const dialog = $("token-dialog");
  $("token-refused").hidden = !refused;
  $("token-input").value = "";
  if (!dialog.open) dialog.showModal();
}

$("token-form").addEventListener("submit", () => {
  sessionStorage.setItem(TOKEN_KEY, $("token-input").value);
  connectFeed();
});

/** Reads the feed until it ends, then comes back (the server restarted, the network blinked). */
async function connectFeed() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  let response;
  try {
    response = await fetch("/console/feed", { headers, cache: "no-store" });
  } catch {
    setFeedState("server unreachable: retrying");
    setTimeout(connectFeed, 2000);
    return;
  }
  if (response.status === 401) {
    await response.body?.cancel();
    setFeedState("admin token required");
    if (token) sessionStorage.removeItem(TOKEN_KEY);
    askForToken(Boolean(token));
    return;
  }
  if (!response.ok || !response.body) {
    setFeedState(`feed answered ${response.status}: retrying`);
    setTimeout(connectFeed, 2000);
    return;
  }
  setFeedState("live");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
        const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
        if (data.length > 0) onFeed(event, JSON.parse(data.join("\n")));
      }
    }
  } catch {
    // the stream broke: reconnect below
  }
  setFeedState("reconnecting…");
  setTimeout(connectFeed, 1000);
}

function onFeed(event, message) {
  if (event === "hello") {
    feed.history = message.history ?? [];
    $("logs").replaceChildren();
  } else if (message.point) {
    feed.history.push(message.point);
    if (feed.history.length > 600) feed.history.shift();
  }
  // Before the views: choosing one opens the entity socket, which needs the port.
  if (message.ws_port !== undefined) feed.wsPort = message.ws_port;
  if (message.status) renderStatus(message.status);
  if (message.views) renderViews(message.views);
  if (message.clients) renderClients(message.clients);
  if (message.logs) renderLogs(message.logs);
  drawCharts();
}

// ---------------------------------------------------------------------------------------
// Health, sources, cluster.

function renderStatus(status) {
  const ready = $("ready");
  ready.textContent = status.ready ? "ready" : "not ready";
  ready.className = `badge ${status.ready ? "ok" : "bad"}`;
  $("draining").hidden = !status.draining;
  const cluster = status.cluster;
  $("instance").textContent = [
    status.stack && `stack ${status.stack}`,
    cluster && `instance ${cluster.instance}`,
  ]
    .filter(Boolean).join(" · ");
  const now = performance.now();
  const rows = (status.sources ?? []).map((source) => {
    const previous = feed.lastSources.get(source.name);
    const rate = previous ? ((source.events - previous.events) / ((now - previous.at) / 1000)) : 0;
    feed.lastSources.set(source.name, { events: source.events, at: now });
    return row([
      el("td", source.name),
      el("td", source.kind),
      el("td", source.status, `status-${source.status}`),
      el("td", ageText(source.last_event_age_ms)),
      el("td", Number.isFinite(rate) ? rate.toFixed(1) : "0"),
    ]);
  });
  $("sources").replaceChildren(...rows);
  const facts = $("cluster");
  facts.hidden = !cluster;
  if (cluster) {
    const pairs = [
      ["instance", cluster.instance],
      ["redis", cluster.redis],
      ["lease", cluster.lease?.held ? "held here" : `held by ${cluster.lease?.holder ?? "nobody"}`],
      ["lag", `${cluster.log?.lag ?? 0} entries (applied ${cluster.log?.applied ?? 0})`],
      ["epoch", cluster.epoch ?? "none"],
    ];
    facts.replaceChildren(...pairs.flatMap(([k, v]) => [el("dt", k), el("dd", v)]));
  }
}

// ---------------------------------------------------------------------------------------
// Views and clients.

function renderViews(views) {
  feed.views = views;
  $("views").replaceChildren(
    ...views.map((view) => row([view.id, view.kind, view.subscribers, view.frames_per_s])),
  );
  const select = $("view-select");
  const ids = views.map((view) => view.id);
  const current = [...select.options].map((option) => option.value);
  if (ids.join() !== current.join()) {
    const chosen = select.value;
    select.replaceChildren(...ids.map((id) => {
      const option = el("option", id);
      option.value = id;
      return option;
    }));
    const first = views.find((view) => view.kind === "list") ?? views[0];
    select.value = ids.includes(chosen) ? chosen : first?.id ?? "";
    if (select.value !== entities.view) subscribeView(select.value);
  }
}

function renderClients(clients) {
  $("client-count").textContent = `${clients.count} connected`;
  $("clients").replaceChildren(...clients.list.map((client) =>
    row([
      el("td", client.id, "mono"),
      el("td", client.address, "mono"),
      el("td", client.subscriptions),
      el("td", client.queued_frames),
      el("td", durationText(client.age_s)),
    ], client.slow ? "slow" : "")
  ));
}

function renderLogs(records) {
  const list = $("logs");
  for (const record of records) {
    const item = el("li", undefined, `level-${record.level}`);
    const time = new Date(record.at).toLocaleTimeString();
    item.textContent = `${time} ${record.level.toUpperCase()} ${record.target}: ${record.message}` +
      (record.code ? ` [${record.code}]` : "");
    list.prepend(item);
  }
  while (list.children.length > 200) list.lastElementChild.remove();
}

// ---------------------------------------------------------------------------------------
// Charts.

function drawCharts() {
  for (const canvas of document.querySelectorAll("canvas[data-series]")) {
    drawChart(canvas, canvas.dataset.series, canvas.dataset.second);
  }
}

function drawChart(canvas, series, second) {
  const ratio = globalThis.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const g = canvas.getContext("2d");
  const style = getComputedStyle(document.documentElement);
  g.clearRect(0, 0, width, height);
  const points = feed.history;
  const values = points.flatMap((p) => [p[series] ?? 0, second ? p[second] ?? 0 : 0]);
  const max = Math.max(1, ...values);
  g.strokeStyle = style.getPropertyValue("--line");
  g.lineWidth = 1;
  g.beginPath();
  g.moveTo(0, height - 0.5);
  g.lineTo(width, height - 0.5);
  g.stroke();
  const plot = (key, color) => {
    if (points.length < 2) return;
    g.strokeStyle = color;
    g.lineWidth = 1.5 * ratio;
    g.beginPath();
    points.forEach((p, i) => {
      const x = (i / (points.length - 1)) * width;
      const y = height - ((p[key] ?? 0) / max) * (height - 12 * ratio) - 2;
      if (i === 0) g.moveTo(x, y);
      else g.lineTo(x, y);
    });
    g.stroke();
  };
  if (second) plot(second, style.getPropertyValue("--alt"));
  plot(series, style.getPropertyValue("--accent"));
  g.fillStyle = style.getPropertyValue("--muted");
  g.font = `${11 * ratio}px system-ui, sans-serif`;
  const latest = points.at(-1)?.[series] ?? 0;
  g.fillText(`max ${Number(max.toFixed(2))}  now ${Number(latest.toFixed(2))}`, 4, 12 * ratio);
}

addEventListener("resize", drawCharts);

// ---------------------------------------------------------------------------------------
// Entities, over the HyperStack protocol.

const entities = {
  socket: null,
  view: "",
  rows: new Map(),
  patches: [],
  flashed: new Set(),
  selected: null,
};

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const host = feed.wsPort ? `${location.hostname}:${feed.wsPort}` : location.host;
  const token = sessionStorage.getItem(CLIENT_TOKEN_KEY);
  return `${scheme}//${host}/${token ? `?hs_token=${encodeURIComponent(token)}` : ""}`;
}

function subscribeView(view) {
  const previous = entities.view;
  entities.view = view;
  entities.rows = new Map();
  entities.patches = [];
  entities.selected = null;
  $("entity-detail").hidden = true;
  renderEntities();
  if (!view) return;
  if (entities.socket && entities.socket.readyState === WebSocket.OPEN) {
    if (previous) entities.socket.send(JSON.stringify({ type: "unsubscribe", view: previous }));
    entities.socket.send(JSON.stringify({ type: "subscribe", view }));
    return;
  }
  openSocket();
}

function openSocket() {
  entities.socket?.close();
  const socket = new WebSocket(socketUrl());
  socket.binaryType = "arraybuffer";
  entities.socket = socket;
  $("entity-state").textContent = "connecting…";
  let opened = false;
  socket.onopen = () => {
    opened = true;
    $("entity-state").textContent = "";
    if (entities.view) socket.send(JSON.stringify({ type: "subscribe", view: entities.view }));
  };
  let chain = Promise.resolve();
  socket.onmessage = (message) => {
    chain = chain.then(() => decode(message.data)).then((frame) => onFrame(frame)).catch(() => {});
  };
  socket.onclose = (event) => {
    if (entities.socket !== socket) return;
    if (!opened) {
      // Refused at the handshake: with PHAROS_AUTH on, entities need a client token.
      $("entity-token-label").hidden = false;
      $("entity-state").textContent =
        "the server refused the entity socket (a client token?): retrying";
    } else {
      $("entity-state").textContent = event.code === 1008 || event.reason
        ? `disconnected (${event.code} ${event.reason}): reconnecting`
        : "disconnected: reconnecting";
    }
    setTimeout(() => {
      if (entities.socket === socket) openSocket();
    }, 2000);
  };
}

async function decode(data) {
  if (typeof data === "string") return JSON.parse(data);
  const bytes = new Uint8Array(data);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** Deep merge as the server does it: objects key by key, `append` arrays concatenated. */
function merge(target, patch, append, path = "") {
  for (const [key, value] of Object.entries(patch)) {
    const at = path ? `${path}.${key}` : key;
    const current = target[key];
    if (Array.isArray(value) && Array.isArray(current) && append.includes(at)) {
      target[key] = [...current, ...value].slice(-100);
    } else if (
      value && typeof value === "object" && !Array.isArray(value) && current &&
      typeof current === "object" && !Array.isArray(current)
    ) {
      merge(current, value, append, at);
    } else target[key] = value;
  }
  return target;
}

function onFrame(frame) {
  if (frame?.type === "error" && frame.code === "view-forbidden") {
    // The entity socket obeys the client token's grant, as any client does.
    $("entity-token-label").hidden = false;
    $("entity-state").textContent = `${frame.message} (a client token with a wider grant?)`;
    return;
  }
  if (!frame || frame.type === "error" || frame.entity !== entities.view) return;
  const changed = [];
  if (frame.op === "snapshot") {
    for (const item of frame.data) entities.rows.set(item.key, structuredClone(item.data));
  } else if (frame.op === "patch") {
    const current = entities.rows.get(frame.key) ?? {};
    entities.rows.set(frame.key, merge(current, frame.data, frame.append ?? []));
    changed.push(frame.key);
    entities.patches.push({ key: frame.key, at: Date.now(), data: frame.data, seq: frame.seq });
    if (entities.patches.length > PATCHES_KEPT) entities.patches.shift();
  } else if (frame.op === "upsert") {
    entities.rows.set(frame.key, frame.data);
    changed.push(frame.key);
  } else if (frame.op === "delete") {
    entities.rows.delete(frame.key);
  }
  for (const key of changed) entities.flashed.add(key);
  scheduleEntities();
}

let entitiesScheduled = false;
function scheduleEntities() {
  if (entitiesScheduled) return;
  entitiesScheduled = true;
  requestAnimationFrame(() => {
    entitiesScheduled = false;
    renderEntities();
  });
}

function seqOf(entity) {
  const [slot = 0, index = 0] = String(entity?._seq ?? "").split(":").map(Number);
  return [slot, index];
}

function renderEntities() {
  const search = $("key-search").value.trim().toLowerCase();
  const all = [...entities.rows.entries()];
  const shown = all
    .filter(([key]) => !search || key.toLowerCase().includes(search))
    .sort(([, a], [, b]) => {
      const [sa, ia] = seqOf(a);
      const [sb, ib] = seqOf(b);
      return sb - sa || ib - ia;
    })
    .slice(0, MAX_ROWS);
  const columns = [];
  for (const [, data] of shown.slice(0, 20)) {
    for (const field of Object.keys(data ?? {})) {
      if (field !== "_seq" && !columns.includes(field) && columns.length < MAX_COLUMNS) {
        columns.push(field);
      }
    }
  }
  $("entity-head").replaceChildren(...["key", ...columns, "_seq"].map((name) => el("th", name)));
  $("entity-rows").replaceChildren(...shown.map(([key, data]) => {
    const tr = row([
      el("td", key, "mono"),
      ...columns.map((field) => el("td", valueText(data?.[field]))),
      el("td", data?._seq ?? "", "mono"),
    ], key === entities.selected ? "selected" : "");
    tr.dataset.key = key;
    if (entities.flashed.has(key)) tr.classList.add("flash");
    return tr;
  }));
  entities.flashed.clear();
  $("entity-count").textContent = `${entities.rows.size} entities${
    shown.length < all.length ? `, ${shown.length} shown` : ""
  }`;
  if (entities.selected !== null) renderDetail();
}

function renderDetail() {
  const key = entities.selected;
  const data = entities.rows.get(key);
  $("entity-detail").hidden = false;
  $("detail-key").textContent = key;
  $("detail-state").textContent = data === undefined ? "(gone)" : JSON.stringify(data, null, 2);
  const patches = entities.patches.filter((patch) => patch.key === key).slice(-20).reverse();
  $("detail-patches").replaceChildren(
    ...patches.map((patch) =>
      el(
        "li",
        `${new Date(patch.at).toLocaleTimeString()} ${patch.seq ?? ""} ${
          JSON.stringify(patch.data)
        }`,
      )
    ),
  );
}

$("entity-rows").addEventListener("click", (event) => {
  const tr = event.target.closest("tr");
  if (!tr) return;
  entities.selected = tr.dataset.key;
  renderEntities();
});
$("key-search").addEventListener("input", renderEntities);
$("entity-token").addEventListener("change", (event) => {
  sessionStorage.setItem(CLIENT_TOKEN_KEY, event.target.value);
  openSocket();
});
$("view-select").addEventListener("change", (event) => subscribeView(event.target.value));

connectFeed();
