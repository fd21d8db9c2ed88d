// Traffic: the request journal, live over fetch-streamed SSE; open an entry for its details.

import { control, getJson } from "./api.js";
import { clear, clock, h, pretty, rawFrame, statusBadge } from "./dom.js";
import { parseJson, readFrames } from "./stream.js";

const MAX_ROWS = 500;
const RETRY_MS = [500, 1000, 2000, 5000];
let state;
let entries = []; // newest first
const seen = new Set();
let selected = null;
let streaming = null;
const els = {};

export function init(shared) {
  state = shared;
  els.table = document.getElementById("traffic-table");
  els.body = els.table.tBodies[0];
  els.node = document.getElementById("traffic-node");
  els.status = document.getElementById("traffic-status");
  els.detail = document.getElementById("traffic-detail");
  els.live = document.getElementById("traffic-live");
  els.count = document.getElementById("traffic-count");
  els.empty = document.getElementById("traffic-empty");
  els.node.addEventListener("change", render);
  els.status.addEventListener("change", render);
  document.addEventListener("console:nodes", fillNodes);
  document.addEventListener("console:signed-in", restart);
  document.addEventListener("console:reset", () => {
    entries = [];
    seen.clear();
    render();
  });
  connect();
}

export function show(requestId) {
  if (requestId) open(requestId);
}

function fillNodes() {
  const current = els.node.value;
  clear(els.node, h("option", { value: "" }, "All nodes"),
    state.nodes.map((node) => h("option", { value: node.alias }, node.alias)));
  els.node.value = state.nodes.some((n) => n.alias === current) ? current : "";
}

function restart() {
  streaming?.abort();
}

/** Load the recent journal, then follow the stream; reconnect with backoff when it ends. */
async function connect() {
  let attempt = 0;
  for (;;) {
    streaming = new AbortController();
    try {
      const recent = await getJson("/journal", { signal: streaming.signal }); // the last 100
      for (const entry of recent.entries || []) add(entry, false);
      render();
      const response = await control("/journal/stream", { signal: streaming.signal, headers: { Accept: "text/event-stream" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      setLive(true);
      attempt = 0;
      await readFrames(response, "sse", performance.now(), (frame) => {
        if (frame.event !== "request" || !frame.data) return;
        const entry = parseJson(frame.data);
        if (entry && add(entry, true)) render();
      }, streaming.signal);
    } catch {
      // fall through to a retry: the server restarted, the token changed or the tab slept
    }
    setLive(false);
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]));
    attempt += 1;
  }
}

function setLive(on) {
  els.live.textContent = on ? "live" : "reconnecting";
  els.live.classList.toggle("on", on);
}

function add(entry, fresh) {
  const id = entry.requestId;
  if (!id || seen.has(id)) return false;
  seen.add(id);
  entry._fresh = fresh;
  entries.unshift(entry);
  if (entries.length > MAX_ROWS) {
    for (const old of entries.splice(MAX_ROWS)) seen.delete(old.requestId);
  }
  return true;
}

function matches(entry) {
  const node = els.node.value;
  const status = els.status.value;
  if (node && entry.node !== node) return false;
  const first = String(entry.status)[0];
  if (status === "err") return entry.status >= 400;
  return !status || first === status;
}

function render() {
  const shown = entries.filter(matches);
  clear(els.body, shown.map(row));
  els.empty.hidden = shown.length > 0;
  els.count.textContent = `${shown.length} of ${entries.length} requests`;
  for (const entry of entries) entry._fresh = false;
}

function row(entry) {
  const tr = h("tr", {
    tabindex: "0",
    "data-request-id": entry.requestId,
    "aria-selected": String(entry.requestId === selected),
    onclick: () => open(entry.requestId),
    onkeydown: (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        open(entry.requestId);
      }
    },
  },
  h("td.ph", {}, clock(entry.at)),
  h("td", {}, entry.method),
  h("td.path", {}, entry.path),
  h("td.ph", {}, entry.node ?? h("span.muted", {}, "—")),
  h("td", {}, statusBadge(entry.status)),
  h("td.num", {}, entry.durationMs === undefined ? "" : Number(entry.durationMs).toFixed(1)),
  h("td.mono.small.opt", {}, entry.requestId));
  if (entry._fresh) tr.classList.add("fresh");
  return tr;
}

async function open(requestId) {
  selected = requestId;
  for (const tr of els.body.rows) tr.setAttribute("aria-selected", String(tr.dataset.requestId === requestId));
  if (location.hash !== `#traffic/${requestId}`) history.replaceState(null, "", `#traffic/${encodeURIComponent(requestId)}`);
  els.detail.hidden = false;
  clear(els.detail, h("p.muted", {}, "Loading…"));
  try {
    const entry = await getJson(`/journal/${encodeURIComponent(requestId)}`);
    if (selected === requestId) renderDetail(entry);
  } catch (error) {
    clear(els.detail, closeButton(), h("p.alert", {}, `Could not load ${requestId}: ${error.message}`));
  }
}

function closeButton() {
  return h("button.small", {
    type: "button",
    style: "float:right",
    onclick: () => {
      selected = null;
      els.detail.hidden = true;
      history.replaceState(null, "", "#traffic");
      render();
    },
  }, "Close");
}

function renderDetail(entry) {
  const request = entry.request || {};
  const response = entry.response || {};
  clear(els.detail,
    closeButton(),
    h("h2", {}, h("span.mono", {}, entry.method), " ", h("span.mono.small", {}, entry.path), statusBadge(entry.status)),
    h("p.muted.small", {},
      `${clock(entry.at)} · ${Number(entry.durationMs ?? 0).toFixed(1)} ms · `,
      entry.node ? h("a", { href: `#nodes/${encodeURIComponent(entry.node)}` }, entry.node) : "no node",
      ` · ${entry.requestId}`),
    h("h3", {}, "Request headers"),
    headers(request.headers),
    h("h3", {}, "Request body"),
    h("pre", { "data-part": "request-body" }, pretty(request.body) || h("span.muted", {}, "(empty)")),
    h("h3", {}, "Response headers"),
    headers(response.headers),
    response.frames
      ? [h("h3", {}, `Stream frames (${response.frames.length})`), frames(response.frames)]
      : [h("h3", {}, "Response body"), h("pre", { "data-part": "response-body" }, pretty(response.body) || h("span.muted", {}, "(empty)"))]);
}

function headers(map) {
  const pairs = Object.entries(map || {});
  if (!pairs.length) return h("p.muted.small", {}, "(none recorded)");
  return h("dl.headers", {}, pairs.map(([name, value]) => [h("dt", {}, name), h("dd", {}, Array.isArray(value) ? value.join(", ") : value)]));
}

function frames(list) {
  return h("div.wire-wrap", {}, h("table.wire", { "data-part": "frames" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "ms"), h("th", { scope: "col" }, "frame"))),
    h("tbody", {}, list.map((frame) => h("tr", {}, h("td", {}, Number(frame.ms).toFixed(1)), h("td", {}, rawFrame(frame.data)))))));
}
