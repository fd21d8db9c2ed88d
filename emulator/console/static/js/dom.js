// Small DOM helpers: build elements without innerHTML, copy to the clipboard, toasts, times.

/** h("button.primary", {type: "button", onclick}, "Send") builds an element. */
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let toastTimer = 0;
export function toast(message) {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), 1800);
}

/** Copy text; falls back to a hidden textarea where the Clipboard API is unavailable. */
export async function copyText(text, what = "Copied") {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = h("textarea", { "aria-hidden": "true", style: "position:fixed;opacity:0" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  toast(what);
}

export function copyButton(getText, label, what) {
  return h("button.small", {
    type: "button",
    "aria-label": label,
    title: label,
    onclick: () => copyText(typeof getText === "function" ? getText() : getText, what),
  }, "Copy");
}

export function clock(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleTimeString([], { hour12: false }) + "." + String(date.getMilliseconds()).padStart(3, "0");
}

export function dateTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString([], { hour12: false });
}

export function statusBadge(status) {
  const klass = `s${String(status ?? "?")[0]}`;
  return h(`span.badge.${klass}`, { "data-status": status }, String(status ?? "…"));
}

/** JSON bodies pretty-printed; anything else exactly as given. */
export function pretty(text) {
  if (text === null || text === undefined) return "";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return String(text);
  }
}

/** A frame's exact text; its trailing line breaks drawn as a faint "\n" so rows stay compact. */
export function rawFrame(raw) {
  const text = String(raw);
  const body = text.replace(/(\r?\n)+$/, "");
  const tail = text.slice(body.length);
  return [body, tail ? h("span.eol", { title: "line breaks" }, tail.replace(/\r/g, "\\r").replace(/\n/g, "\\n")) : null];
}
