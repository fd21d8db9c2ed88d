// Chaos: a node's runtime faults, latency and rate limit (/_emulator/nodes/{alias}/overrides).

import { getJson, HttpError, sendJson } from "./api.js";
import { clear, h, toast } from "./dom.js";

let state;
let overrides = null;
const els = {};

const EMPTY = { faults: [], latency: null, rate_limit: null };

export function init(shared) {
  state = shared;
  for (const id of ["node", "summary", "active", "error", "clear", "add-fail", "add-cut", "set-latency", "set-rl",
    "fail-times", "fail-status", "fail-retry", "cut-after", "cut-kind", "cut-times", "first", "tps", "delay",
    "rl-requests", "rl-per"]) {
    els[id] = document.getElementById(`chaos-${id}`);
  }
  els.node.addEventListener("change", () => {
    history.replaceState(null, "", `#chaos/${encodeURIComponent(els.node.value)}`);
    load();
  });
  els["add-fail"].addEventListener("click", () => {
    const fault = { status: int(els["fail-status"].value), times: int(els["fail-times"].value) };
    const retry = int(els["fail-retry"].value);
    if (retry !== null) fault.retry_after = retry;
    put({ ...current(), faults: [...current().faults, fault] });
  });
  els["add-cut"].addEventListener("click", () => {
    const fault = { [els["cut-kind"].value]: int(els["cut-after"].value) };
    const times = int(els["cut-times"].value);
    if (times !== null) fault.times = times;
    put({ ...current(), faults: [...current().faults, fault] });
  });
  els["set-latency"].addEventListener("click", () => {
    const latency = {};
    for (const [key, el] of [["first_token_ms", els.first], ["tokens_per_second", els.tps], ["delay_ms", els.delay]]) {
      const value = num(el.value);
      if (value !== null) latency[key] = value;
    }
    put({ ...current(), latency: Object.keys(latency).length ? latency : null });
  });
  els["set-rl"].addEventListener("click", () => {
    put({ ...current(), rate_limit: { requests: int(els["rl-requests"].value), per_seconds: num(els["rl-per"].value) } });
  });
  els.clear.addEventListener("click", clearAll);
  document.addEventListener("console:nodes", fillNodes);
  document.addEventListener("console:reset", () => state.current === "chaos" && load());
}

export function show(alias) {
  if (alias && state.nodes.some((n) => n.alias === alias)) els.node.value = alias;
  load();
}

function int(text) {
  const value = num(text);
  return value === null ? null : Math.trunc(value);
}

function num(text) {
  if (text === null || String(text).trim() === "") return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** The overrides as they stand, in the shape PUT takes (null fields left out of faults). */
function current() {
  const value = overrides || EMPTY;
  const faults = (value.faults || []).map((fault) =>
    Object.fromEntries(Object.entries(fault).filter(([, v]) => v !== null && v !== undefined)));
  const latency = value.latency
    ? Object.fromEntries(Object.entries(value.latency).filter(([, v]) => v !== null && v !== undefined))
    : null;
  return { faults, latency, rate_limit: value.rate_limit ?? null };
}

function fillNodes() {
  const wanted = location.hash.startsWith("#chaos/") ? decodeURIComponent(location.hash.slice(7)) : els.node.value;
  clear(els.node, state.nodes.map((node) => h("option", { value: node.alias }, `${node.alias} (${node.api})`)));
  if (state.nodes.some((n) => n.alias === wanted)) els.node.value = wanted;
  if (state.current === "chaos") load();
}

function path() {
  return `/nodes/${encodeURIComponent(els.node.value)}/overrides`;
}

// Each call below takes a ticket; an answer is shown only if no later call was made since, so a
// slow GET sent before a PUT cannot overwrite what the PUT answered.
let latest = 0;

async function load() {
  if (!els.node.value) return;
  const ticket = ++latest;
  let value = null;
  let failure = null;
  try {
    value = await getJson(path());
  } catch (error) {
    failure = error;
  }
  if (ticket !== latest) return;
  overrides = value;
  showError(failure);
  render();
}

async function put(value) {
  const ticket = ++latest;
  try {
    const answer = await sendJson(path(), "PUT", value);
    if (ticket === latest) overrides = answer;
    showError(null);
    toast(`Overrides of ${els.node.value} updated`);
  } catch (error) {
    showError(error);
  }
  if (ticket === latest) render();
}

async function clearAll() {
  ++latest;
  try {
    await sendJson(path(), "DELETE");
    overrides = { ...EMPTY };
    showError(null);
    toast(`Overrides of ${els.node.value} cleared`);
  } catch (error) {
    showError(error);
  }
  render();
}

function showError(error) {
  els.error.hidden = !error;
  if (!error) return;
  const details = error instanceof HttpError && Array.isArray(error.body?.errors)
    ? error.body.errors.map((e) => `${e.field ?? e.path ?? e.loc ?? ""} ${e.message ?? JSON.stringify(e)}`.trim())
    : [];
  clear(els.error, error.message, details.length ? h("ul", {}, details.map((d) => h("li", {}, d))) : null);
}

function describeFault(fault) {
  const n = fault.times;
  const when = fault.when ? ` matching ${JSON.stringify(fault.when)}` : "";
  const rate = fault.rate !== undefined && fault.rate !== null ? ` (with probability ${fault.rate})` : "";
  const subject = (n === 1 ? "the next request" : n ? `the next ${n} requests` : "every request") + when + rate;
  const verb = n && n > 1 ? "answer" : "answers";
  if (fault.status) {
    const retry = fault.retry_after !== undefined && fault.retry_after !== null ? ` with Retry-After: ${fault.retry_after}` : "";
    return `${cap(subject)} ${verb} ${fault.status}${retry}`;
  }
  if (fault.stream_error_after !== undefined && fault.stream_error_after !== null) {
    return `Streams of ${subject} end with an error event after ${fault.stream_error_after} tokens`;
  }
  if (fault.disconnect_after !== undefined && fault.disconnect_after !== null) {
    return `Streams of ${subject} are cut (disconnect) after ${fault.disconnect_after} tokens`;
  }
  return JSON.stringify(fault);
}

function cap(text) {
  return text[0].toUpperCase() + text.slice(1);
}

function describeLatency(latency) {
  const parts = [];
  if (latency.delay_ms) parts.push(`${latency.delay_ms} ms stall before the first byte`);
  if (latency.first_token_ms) parts.push(`${latency.first_token_ms} ms to first token`);
  if (latency.tokens_per_second) parts.push(`${latency.tokens_per_second} tokens/s`);
  if (latency.jitter) parts.push(`jitter ${latency.jitter}`);
  return `Slow: ${parts.join(", ") || "as fast as possible"}`;
}

function render() {
  const value = overrides || EMPTY;
  const items = [];
  (value.faults || []).forEach((fault, index) => {
    items.push(item(describeFault(fault), "fault", () => {
      const faults = [...value.faults];
      faults.splice(index, 1);
      put({ ...current(), faults });
    }));
  });
  if (value.latency) items.push(item(describeLatency(value.latency), "latency", () => put({ ...current(), latency: null })));
  if (value.rate_limit) {
    const rl = value.rate_limit;
    items.push(item(`Rate limit: ${rl.requests} requests per ${rl.per_seconds} s per credential`, "rate_limit", () => put({ ...current(), rate_limit: null })));
  }
  clear(els.active, items.length ? items : h("li.muted", {}, "None: this node behaves as nodes.yaml says."));
  els.summary.textContent = items.length ? `${items.length} override${items.length === 1 ? "" : "s"} active on ${els.node.value}` : "";
  els.clear.disabled = !items.length;
}

function item(text, kind, onRemove) {
  return h("li", { "data-kind": kind }, h("span", {}, text),
    h("button.small", { type: "button", "aria-label": `Remove: ${text}`, onclick: onRemove }, "Remove"));
}
