// Playground: talk to a node through its API's own streaming endpoint; show every frame raw.

import { clear, h, rawFrame } from "./dom.js";
import { parseJson, readFrames } from "./stream.js";

let state;
let controller = null;
const els = {};

/** Each API's streaming call and how its frames change the reply being drawn. */
const ADAPTERS = {
  interlocute: {
    conversation: "Thread id",
    formats: true,
    request(node, message, conv, key, format) {
      const accept = { sse: "text/event-stream", ndjson: "application/x-ndjson", text: "text/plain" }[format];
      return {
        url: `${base(node)}/chat/stream`,
        headers: { "Content-Type": "application/json", Accept: accept, ...bearer(key) },
        body: { content: message, ...(conv ? { threadId: conv } : {}) },
        kind: format,
      };
    },
    frame(frame, turn) {
      if (turn.kind === "text") return turn.append(frame.data);
      const data = parseJson(frame.data);
      const type = turn.kind === "sse" ? frame.event : data?.type;
      if (!data) return;
      if (type === "start" || type === "done") turn.conversation(data.threadId);
      if (type === "done") turn.finished = true;
      if (type === "token") turn.append(data.content);
      if (type === "error") turn.fail(data.error?.message ?? frame.data, frame.raw);
    },
  },
  "agent-slug": {
    conversation: "Conversation id",
    request(node, message, conv, key) {
      return {
        url: `${base(node)}/v1/api/chat/${encodeURIComponent(node.alias)}`,
        headers: { "Content-Type": "application/json", ...bearer(key) },
        body: { message, stream: true, ...(conv ? { conversationId: conv } : {}) },
        kind: "sse",
      };
    },
    opened(response, turn) {
      turn.conversation(response.headers.get("X-Conversation-Id"));
    },
    frame(frame, turn) {
      if (frame.data === "[DONE]") {
        turn.finished = true;
        return;
      }
      const data = parseJson(frame.data);
      if (data?.chunk !== undefined) turn.append(data.chunk);
      else if (data?.error) turn.fail(data.error.message ?? frame.data, frame.raw);
    },
  },
  sentientone: {
    conversation: "Conversation id",
    request(node, message, conv, key) {
      return {
        url: `${base(node)}/v1/chat/stream`,
        headers: { "Content-Type": "application/json", "X-Agent-Id": node.alias, ...(key ? { "X-Api-Key": key } : {}) },
        body: { message, ...(conv ? { conversation_id: conv } : {}) },
        kind: "sse",
      };
    },
    frame(frame, turn) {
      const data = parseJson(frame.data);
      if (!data) return;
      if (data.type === "meta" || data.type === "done") turn.conversation(data.conversation_id);
      if (data.type === "done") turn.finished = true;
      if (data.type === "delta") turn.append(data.content);
      if (data.type === "sources") turn.sources(data.sources || []);
      if (data.type === "error") turn.fail(data.error?.message ?? frame.data, frame.raw);
    },
  },
  widget: {
    conversation: "Session id",
    request(node, message, conv, key) {
      return {
        url: `${base(node)}/v1/chat/stream`,
        headers: { "Content-Type": "application/json", ...(key ? { "x-api-key": key } : {}) },
        body: { sessionId: conv, message },
        kind: "ndjson",
      };
    },
    newConversation() {
      return `console-${Math.random().toString(36).slice(2, 10)}`;
    },
    frame(frame, turn) {
      const data = parseJson(frame.data);
      if (!data) return;
      if (data.type === "start" || data.type === "done") turn.note(`conversation ${data.conversationId}`);
      if (data.type === "done") turn.finished = true;
      if (data.type === "token") turn.append(data.token);
      if (data.type === "error") turn.fail(data.error ?? frame.data, frame.raw);
    },
  },
};

function base(node) {
  return `/nodes/${encodeURIComponent(node.alias)}`;
}

function bearer(key) {
  return key ? { Authorization: `Bearer ${key}` } : {};
}

export function init(shared) {
  state = shared;
  for (const id of ["pg-node", "pg-format", "pg-format-field", "pg-key", "pg-conv", "pg-conv-label", "pg-new",
    "pg-transcript", "pg-send", "pg-message", "pg-submit", "pg-stop", "pg-wire", "pg-wire-meta", "pg-endpoint"]) {
    const key = id.slice(3).replace(/-(\w)/g, (_, c) => c.toUpperCase());
    els[key] = document.getElementById(id);
  }
  document.getElementById("pg-form").addEventListener("submit", (event) => event.preventDefault());
  els.node.addEventListener("change", () => selectNode(els.node.value, true));
  els.format.addEventListener("change", describeEndpoint);
  els.new.addEventListener("click", () => newConversation());
  els.send.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  els.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      els.send.requestSubmit();
    }
  });
  els.stop.addEventListener("click", () => controller?.abort());
  document.addEventListener("console:nodes", fillNodes);
}

export function show(alias) {
  if (alias && alias !== els.node.value && state.nodes.some((n) => n.alias === alias)) {
    els.node.value = alias;
    selectNode(alias, true);
  }
}

function fillNodes() {
  const wanted = location.hash.startsWith("#playground/") ? decodeURIComponent(location.hash.split("/")[1]) : null;
  const current = wanted || els.node.value;
  clear(els.node, state.nodes.map((node) => h("option", { value: node.alias }, `${node.alias} (${node.api})`)));
  const keep = state.nodes.some((n) => n.alias === current);
  if (keep) els.node.value = current;
  selectNode(els.node.value, !keep || els.node.dataset.alias !== current);
}

function currentNode() {
  return state.nodes.find((node) => node.alias === els.node.value);
}

function selectNode(alias, reset) {
  const node = currentNode();
  if (!node) return;
  const adapter = ADAPTERS[node.api];
  els.formatField.hidden = !adapter?.formats;
  els.convLabel.textContent = adapter?.conversation ?? "Conversation id";
  if (reset) {
    els.node.dataset.alias = alias;
    const creds = node.credentials || {};
    const anonymous = creds.anonymous ?? node.anonymous;
    els.key.value = creds.apiKeys?.[0] ?? (anonymous ? "" : "console-dev-key");
    newConversation();
  }
  describeEndpoint();
}

function newConversation() {
  controller?.abort();
  els.conv.value = "";
  clear(els.transcript);
  clear(els.wire.tBodies[0]);
  els.wireMeta.textContent = "";
}

function describeEndpoint() {
  const node = currentNode();
  const adapter = node && ADAPTERS[node.api];
  if (!adapter) {
    els.endpoint.textContent = node ? `The console cannot talk to the ${node.api} API.` : "";
    return;
  }
  const call = adapter.request(node, "", "", "", els.format.value);
  els.endpoint.textContent = `POST ${call.url}`;
}

function wireRow(ms, text, klass) {
  const cell = klass?.includes("frame") ? rawFrame(text) : text;
  const row = h(`tr${klass ? "." + klass : ""}`, {}, h("td", {}, ms === null ? "" : ms.toFixed(1)), h("td", {}, cell));
  els.wire.tBodies[0].append(row);
  row.scrollIntoView({ block: "nearest" });
  return row;
}

function bubble(role, text = "") {
  const el = h(`li.msg.${role}`, { "data-role": role }, h("span.text", {}, text));
  els.transcript.append(el);
  el.scrollIntoView({ block: "nearest" });
  return el;
}

/** What the frames of one reply do to the page. */
class Turn {
  constructor(kind, el) {
    this.kind = kind;
    this.el = el;
    this.textEl = el.querySelector(".text");
    this.notes = [];
    this.failed = false;
    this.finished = false; // saw the API's closing frame
    this.firstMs = null;
  }
  append(text) {
    if (text) this.textEl.textContent += text;
  }
  conversation(id) {
    if (id) els.conv.value = id;
  }
  note(text) {
    if (!this.notes.includes(text)) this.notes.push(text);
  }
  sources(list) {
    this.el.append(h("span.sources", {}, "Sources: ", list.map((s, i) => [i ? ", " : "", s.url ? h("a", { href: s.url, target: "_blank", rel: "noopener noreferrer" }, s.title || s.id) : s.title || s.id])));
  }
  fail(message, raw) {
    this.failed = true;
    bubble("error", `Stream error: ${message}\n${raw.trim()}`).dataset.kind = "stream-error";
  }
}

async function send() {
  const node = currentNode();
  const adapter = node && ADAPTERS[node.api];
  const message = els.message.value.trim();
  if (!adapter || !message || controller) return;
  if (!els.conv.value && adapter.newConversation) els.conv.value = adapter.newConversation();
  const call = adapter.request(node, message, els.conv.value.trim(), els.key.value.trim(), els.format.value);
  els.message.value = "";
  bubble("user", message);
  clear(els.wire.tBodies[0]);
  els.wireMeta.textContent = "waiting…";
  controller = new AbortController();
  setBusy(true);
  const started = performance.now();
  wireRow(0, `→ POST ${call.url}\n${JSON.stringify(call.body)}`, "info");
  const reply = bubble("assistant");
  reply.classList.add("streaming");
  const turn = new Turn(call.kind, reply);
  let frames = 0;
  try {
    const response = await fetch(call.url, {
      method: "POST",
      headers: call.headers,
      body: JSON.stringify(call.body),
      signal: controller.signal,
    });
    const headersMs = performance.now() - started;
    const type = response.headers.get("Content-Type") || "";
    wireRow(headersMs, `← ${response.status} ${response.statusText} ${type}${headerNotes(response)}`, response.ok ? "info" : "info bad");
    if (!response.ok) {
      els.wireMeta.textContent = `HTTP ${response.status}`;
      reply.remove();
      await showHttpError(response, started);
      return;
    }
    adapter.opened?.(response, turn);
    await readFrames(response, call.kind, started, (frame) => {
      frames += 1;
      if (turn.firstMs === null) turn.firstMs = frame.ms;
      wireRow(frame.ms, frame.raw, "frame").dataset.frame = String(frames);
      adapter.frame(frame, turn);
    }, controller.signal);
    const total = performance.now() - started;
    wireRow(total, "(end of stream)", "info");
    if (!turn.finished && !turn.failed && call.kind !== "text") {
      // What a client sees when the connection is cut: the bytes stop, with no closing frame.
      bubble("error", "The stream ended without its closing frame: the connection was cut.").dataset.kind = "cut";
    }
    els.wireMeta.textContent = `${frames} frames · ${total.toFixed(0)} ms`;
    const bits = [...turn.notes];
    if (els.conv.value) bits.unshift(els.conv.value);
    if (turn.firstMs !== null) bits.push(`first frame ${turn.firstMs.toFixed(0)} ms`, `done ${total.toFixed(0)} ms`);
    reply.append(h("span.meta", {}, bits.join(" · ")));
  } catch (error) {
    els.wireMeta.textContent = "";
    if (error.name === "AbortError") {
      wireRow(performance.now() - started, "(stopped by you)", "info");
    } else {
      wireRow(performance.now() - started, `(connection failed: ${error.message})`, "info bad");
      bubble("error", `The stream broke off: ${error.message}`).dataset.kind = "network";
    }
  } finally {
    reply.classList.remove("streaming");
    if (!reply.querySelector(".text").textContent && !turn.failed && reply.isConnected && !reply.querySelector(".meta")) {
      reply.remove();
    }
    controller = null;
    setBusy(false);
    // Finished turns, counted for anyone waiting on a reply (a test, a screen reader script).
    els.transcript.dataset.turns = String(Number(els.transcript.dataset.turns || 0) + 1);
    els.message.focus();
  }
}

function headerNotes(response) {
  const notes = [];
  for (const name of ["Retry-After", "X-Request-Id", "X-Conversation-Id", "X-Trace-Id", "X-RateLimit-Remaining"]) {
    const value = response.headers.get(name);
    if (value) notes.push(`\n${name}: ${value}`);
  }
  return notes.join("");
}

async function showHttpError(response, started) {
  const body = await response.text();
  wireRow(performance.now() - started, body || "(empty body)", "frame bad");
  const retry = response.headers.get("Retry-After");
  const lines = [`HTTP ${response.status} ${response.statusText}`];
  if (retry) lines.push(`Retry-After: ${retry}`);
  lines.push(body);
  const el = bubble("error", lines.join("\n"));
  el.dataset.kind = "http";
  el.dataset.status = String(response.status);
}

function setBusy(busy) {
  els.submit.disabled = busy;
  els.stop.disabled = !busy;
}
