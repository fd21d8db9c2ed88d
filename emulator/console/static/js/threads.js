// Threads: list by node (kept fresh), open one as a conversation, delete, export, reset all.

import { CONTROL, control, getJson, HttpError, sendJson, token } from "./api.js";
import { clear, dateTime, h, toast } from "./dom.js";

let state;
let selected = null;
let listed = "";
const els = {};

export function init(shared) {
  state = shared;
  els.node = document.getElementById("threads-node");
  els.body = document.getElementById("threads-table").tBodies[0];
  els.empty = document.getElementById("threads-empty");
  els.detail = document.getElementById("thread-detail");
  els.notice = document.getElementById("threads-notice");
  els.node.addEventListener("change", () => load());
  document.getElementById("threads-reset").addEventListener("click", resetAll);
  document.addEventListener("console:nodes", fillNodes);
  // Live without a reload button: refresh on every health tick while this tab is shown.
  for (const name of ["console:health", "console:generation"]) {
    document.addEventListener(name, () => {
      if (state.current === "threads") load();
    });
  }
}

export function show(arg) {
  if (arg?.startsWith("node:")) {
    els.node.value = arg.slice(5);
  } else if (arg) {
    open(arg);
  }
  load();
}

function fillNodes() {
  const current = els.node.value || (location.hash.match(/^#threads\/node:(.+)$/)?.[1] ?? "");
  clear(els.node, h("option", { value: "" }, "All nodes"),
    state.nodes.map((node) => h("option", { value: node.alias }, node.alias)));
  els.node.value = state.nodes.some((n) => n.alias === current) ? current : "";
}

async function load() {
  const node = els.node.value;
  let body;
  try {
    body = await getJson(`/threads${node ? `?node=${encodeURIComponent(node)}` : ""}`);
  } catch (error) {
    notice(`Could not list threads: ${error.message}`);
    return;
  }
  // Newest first: the one you just made is at the top.
  const threads = (body.threads || []).slice().sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
  // Redraw only when something changed, so focus and selection stay put between ticks.
  const signature = JSON.stringify([node, selected, threads]);
  if (signature === listed) return;
  listed = signature;
  clear(els.body, threads.map(row));
  els.empty.hidden = threads.length > 0;
}

function fixtureUrl(id) {
  return `${CONTROL}/threads/${encodeURIComponent(id)}/fixture`;
}

function row(thread) {
  const label = `thread ${thread.id}`;
  return h("tr", {
    "data-thread-id": thread.id,
    "aria-selected": String(thread.id === selected),
    onclick: (event) => {
      if (!event.target.closest("button, a")) open(thread.id);
    },
  },
  h("td.mono.small", {}, h("button.link", { type: "button", "aria-label": `Open ${label}`, onclick: () => open(thread.id) }, thread.id)),
  h("td.opt", {}, thread.node),
  h("td.opt", {}, h("span.badge.api", {}, thread.api)),
  h("td.num", {}, thread.messageCount ?? ""),
  h("td.opt", {}, dateTime(thread.createdAt)),
  h("td", {},
    h("a.small", { href: fixtureUrl(thread.id), download: `${thread.id}.yaml`, "aria-label": `Export ${label} as a fixture`, onclick: (event) => exportFixture(event, thread.id) }, "Export"),
    " ",
    h("button.small.danger", { type: "button", "aria-label": `Delete ${label}`, onclick: () => remove(thread.id) }, "Delete")));
}

async function open(id) {
  selected = id;
  listed = "";
  for (const tr of els.body.rows) tr.setAttribute("aria-selected", String(tr.dataset.threadId === id));
  els.detail.hidden = false;
  clear(els.detail, h("p.muted", {}, "Loading…"));
  let thread;
  try {
    thread = await getJson(`/threads/${encodeURIComponent(id)}`);
  } catch (error) {
    clear(els.detail, closeButton(), h("p.alert", {}, error instanceof HttpError && error.status === 404 ? `Thread ${id} no longer exists.` : error.message));
    return;
  }
  if (selected !== id) return;
  clear(els.detail,
    closeButton(),
    h("h2", {}, h("span.mono", {}, thread.id), h("span.badge.api", {}, thread.api)),
    h("p.muted.small", {}, `node ${thread.node} · started ${dateTime(thread.createdAt)}`, thread.sessionId ? ` · session ${thread.sessionId}` : ""),
    h("ol.conversation", { "aria-label": "Messages" }, (thread.messages || []).map((message) =>
      h(`li.msg.${message.role === "user" ? "user" : "assistant"}`, { "data-role": message.role },
        h("span.text", {}, message.content),
        h("span.meta", {}, `${message.role} · ${dateTime(message.createdAt)}`)))),
    h("details", {}, h("summary", {}, "Raw JSON"), h("pre", {}, JSON.stringify(thread, null, 2))),
    h("p", {},
      h("a", { href: fixtureUrl(thread.id), download: `${thread.id}.yaml`, onclick: (event) => exportFixture(event, thread.id) }, "Export as replay fixture"),
      " ",
      h("button.small.danger", { type: "button", onclick: () => remove(thread.id) }, "Delete thread")));
}

function closeButton() {
  return h("button.small", {
    type: "button",
    style: "float:right",
    onclick: () => {
      selected = null;
      els.detail.hidden = true;
      listed = "";
      load();
    },
  }, "Close");
}

/** With a control token a plain link cannot authenticate: fetch it and save the blob instead. */
async function exportFixture(event, id) {
  if (!token()) return; // without a token the plain link works as it is
  event.preventDefault();
  const response = await control(`/threads/${encodeURIComponent(id)}/fixture`);
  if (!response.ok) {
    notice(`Export failed: HTTP ${response.status}`);
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: `${id}.yaml` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function remove(id) {
  if (!confirm(`Delete thread ${id} and its messages?`)) return;
  try {
    const response = await control(`/threads/${encodeURIComponent(id)}`, { method: "DELETE" });
    if (!response.ok && response.status !== 404) throw new Error(`HTTP ${response.status}`);
  } catch (error) {
    notice(`Could not delete ${id}: ${error.message}`);
    return;
  }
  if (selected === id) {
    selected = null;
    els.detail.hidden = true;
  }
  toast(`Deleted ${id}`);
  listed = "";
  await load();
}

async function resetAll() {
  if (!confirm("Forget every thread, journal entry, rate-limit bucket, fault counter and chaos override?")) return;
  try {
    await sendJson("/reset", "POST");
  } catch (error) {
    notice(`Reset failed: ${error.message}`);
    return;
  }
  selected = null;
  els.detail.hidden = true;
  listed = "";
  notice("Everything was reset.", true);
  document.dispatchEvent(new CustomEvent("console:reset"));
  await load();
}

function notice(text, ok = false) {
  els.notice.textContent = text;
  els.notice.classList.toggle("ok", ok);
  els.notice.classList.toggle("alert", !ok);
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => {
    els.notice.textContent = "";
    els.notice.className = "notice";
  }, 5000);
}
