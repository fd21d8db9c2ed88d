// Config: the YAML the server runs, its generation and last error; edit and apply it.

import { control, getJson, readJson } from "./api.js";
import { clear, dateTime, h } from "./dom.js";

let state;
let loaded = null; // the last GET /config answer
let marked = new Map(); // line -> messages
const els = {};

export function init(shared) {
  state = shared;
  for (const [key, id] of Object.entries({
    meta: "config-meta", alert: "config-error", gutter: "config-gutter", text: "config-text",
    save: "config-save", revert: "config-revert", status: "config-state", errors: "config-errors",
  })) els[key] = document.getElementById(id);
  els.text.addEventListener("input", () => {
    drawGutter();
    showDirty();
  });
  els.text.addEventListener("scroll", () => {
    els.gutter.scrollTop = els.text.scrollTop;
  });
  els.text.addEventListener("keydown", (event) => {
    if (event.key === "s" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      save();
    }
  });
  els.save.addEventListener("click", save);
  els.revert.addEventListener("click", () => {
    setErrors([]);
    load(true);
  });
  document.addEventListener("console:generation", () => load(false));
  document.addEventListener("console:health", (event) => {
    // A broken file on disk does not change the generation: show its error when it appears.
    const error = event.detail?.config?.error ?? null;
    if (loaded && JSON.stringify(error) !== JSON.stringify(loaded.error)) load(false);
  });
}

export function show() {
  if (!loaded) load(true);
}

function dirty() {
  return loaded !== null && els.text.value !== loaded.text;
}

async function load(force) {
  let body;
  try {
    body = await getJson("/config");
  } catch (error) {
    els.meta.textContent = `Could not load the config: ${error.message}`;
    return;
  }
  const wasDirty = dirty();
  const changedOnServer = loaded !== null && body.generation !== loaded.generation;
  loaded = body;
  renderMeta();
  if (force || !wasDirty) {
    els.text.value = body.text ?? "";
    drawGutter();
    showDirty();
  } else if (changedOnServer) {
    els.status.textContent = `The server's config changed (generation ${body.generation}) while you were editing. Revert to see it.`;
  }
}

function renderMeta() {
  clear(els.meta,
    h("span.mono", {}, loaded.path ?? "(no file)"), " · ",
    h("span", { "data-generation": loaded.generation }, `generation ${loaded.generation}`), " · ",
    `loaded ${dateTime(loaded.loadedAt)}`);
  const error = loaded.error;
  els.alert.hidden = !error;
  if (error) {
    clear(els.alert,
      h("strong", {}, "The file on disk has an error; the server keeps running the last good config. "),
      h("button.link", { type: "button", onclick: () => goTo(error.line, error.column) }, location_(error)),
      ` ${error.message}`);
  }
}

function location_(error) {
  const file = error.file ? `${error.file}:` : "";
  return error.line ? `${file}${error.line}:${error.column ?? 1}` : file || "config";
}

function drawGutter() {
  const count = els.text.value.split("\n").length;
  const lines = [];
  for (let n = 1; n <= count; n += 1) {
    const message = marked.get(n);
    lines.push(message ? h("span.bad", { "data-line": n, title: message.join("\n") }, `${n}`) : `${n}`, "\n");
  }
  clear(els.gutter, lines);
  els.gutter.scrollTop = els.text.scrollTop;
}

function showDirty() {
  els.save.disabled = !dirty();
  els.revert.disabled = !dirty();
  if (dirty()) els.status.textContent = "Unsaved changes (Ctrl+S applies).";
  else if (els.status.textContent.startsWith("Unsaved")) els.status.textContent = "";
}

function setErrors(errors) {
  marked = new Map();
  for (const error of errors) {
    if (!error.line) continue;
    marked.set(error.line, [...(marked.get(error.line) || []), error.message]);
  }
  clear(els.errors, errors.map((error) => h("li", { "data-line": error.line ?? "" },
    h("button", { type: "button", onclick: () => goTo(error.line, error.column) },
      h("span.loc", {}, error.line ? `line ${error.line}, column ${error.column ?? 1}` : "config"),
      error.message))));
  drawGutter();
}

/** Put the caret at line:column and scroll it into view. */
function goTo(line, column = 1) {
  if (!line) return;
  const lines = els.text.value.split("\n");
  let offset = 0;
  for (let n = 1; n < line && n <= lines.length; n += 1) offset += lines[n - 1].length + 1;
  offset += Math.max(0, (column || 1) - 1);
  els.text.focus();
  els.text.setSelectionRange(offset, offset);
  const lineHeight = parseFloat(getComputedStyle(els.text).lineHeight) || 18;
  els.text.scrollTop = Math.max(0, (line - 4) * lineHeight);
}

async function save() {
  if (!loaded) return;
  els.save.disabled = true;
  els.status.textContent = "Applying…";
  let response;
  try {
    response = await control("/config", {
      method: "PUT",
      body: els.text.value,
      headers: { "Content-Type": "application/yaml" },
    });
  } catch (error) {
    els.status.textContent = `Could not apply: ${error.message}`;
    showDirty();
    return;
  }
  const body = await readJson(response);
  if (response.status === 422) {
    const errors = body?.errors || [];
    setErrors(errors);
    els.status.textContent = `Not applied: ${errors.length} error${errors.length === 1 ? "" : "s"}. The server keeps the running config.`;
    if (errors[0]) goTo(errors[0].line, errors[0].column);
    els.save.disabled = false;
    return;
  }
  if (!response.ok) {
    els.status.textContent = `Not applied: HTTP ${response.status} ${body?.error?.message ?? ""}`;
    els.save.disabled = false;
    return;
  }
  setErrors([]);
  const changes = body?.changes || {};
  const parts = ["added", "removed", "changed"].filter((k) => changes[k]?.length).map((k) => `${k} ${changes[k].join(", ")}`);
  const applied = `Applied: generation ${body?.generation}${parts.length ? ` (${parts.join("; ")})` : " (no node changed)"}.`;
  loaded = { ...loaded, text: els.text.value };
  await load(true);
  els.status.textContent = applied;
  document.dispatchEvent(new CustomEvent("console:poll"));
}
