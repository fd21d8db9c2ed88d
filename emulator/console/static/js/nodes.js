// Nodes: API, model, URLs, credentials (masked until revealed) and per-node client snippets.

import { getJson } from "./api.js";
import { clear, copyButton, h } from "./dom.js";

const MASK = "••••••••••••";
let state;

export function init(shared) {
  state = shared;
  document.addEventListener("console:nodes", render);
}

export function show(alias) {
  if (alias) document.getElementById(`node-${alias}`)?.scrollIntoView({ block: "start" });
}

function render() {
  const list = document.getElementById("nodes-list");
  const open = new Set(
    [...list.querySelectorAll("details.snippets[open]")].map((d) => d.dataset.alias),
  );
  clear(list, state.nodes.length ? state.nodes.map((node) => card(node, open)) : h("p.empty", {}, "No nodes configured."));
}

function card(node, open) {
  const details = h("details.snippets", { "data-alias": node.alias, open: open.has(node.alias) },
    h("summary", {}, "Client snippets"),
    h("div.snippet-list", {}, h("p.muted.small", {}, "Loading…")));
  details.addEventListener("toggle", () => {
    if (details.open && !details.dataset.loaded) loadSnippets(node.alias, details);
  });
  if (details.open) loadSnippets(node.alias, details);
  const headingId = `node-${node.alias}-name`;
  return h("article.card.node", { id: `node-${node.alias}`, "aria-labelledby": headingId, "data-alias": node.alias },
    h("h2", { id: headingId },
      node.name || node.alias,
      h("span.alias", {}, node.alias),
      h("span.badge.api", {}, node.api)),
    node.description ? h("p.desc", {}, node.description) : h("p.desc", {}, ""),
    h("dl.kv", {},
      h("dt", {}, "Model"),
      h("dd", {}, `${node.model?.name ?? "?"} `, h("span.badge", {}, node.model?.kind ?? "?")),
      h("dt", {}, "URLs"),
      h("dd", {}, urls(node.urls || [])),
      h("dt", {}, "Credentials"),
      h("dd", {}, credentials(node)),
      h("dt", {}, "Try it"),
      h("dd", {},
        h("a", { href: `#playground/${encodeURIComponent(node.alias)}`, "aria-label": `Talk to ${node.alias} in the Playground` }, "Playground"), " · ",
        h("a", { href: `#chaos/${encodeURIComponent(node.alias)}`, "aria-label": `Chaos for ${node.alias}` }, "Chaos"), " · ",
        h("a", { href: `#threads/node:${encodeURIComponent(node.alias)}`, "aria-label": `Threads of ${node.alias}` }, "Threads"))),
    details);
}

const SHOWN_URLS = 3;

/** The path-form URLs (listed first by the server) in view; the other forms one click away. */
function urls(list) {
  const row = (url) => h("div.copyrow", {}, h("code", { title: url }, url), copyButton(url, `Copy URL ${url}`, "URL copied"));
  const more = list.slice(SHOWN_URLS);
  return [
    list.slice(0, SHOWN_URLS).map(row),
    more.length ? h("details.more", {}, h("summary", {}, `${more.length} more`), more.map(row)) : null,
  ];
}

function credentials(node) {
  const creds = node.credentials || {};
  const keys = creds.apiKeys || [];
  const rows = keys.map((key, index) => secretRow(key, `${node.alias} API key ${index + 1}`));
  const facts = [];
  if (creds.jwt) facts.push("HS256 JWTs accepted");
  if (creds.anonymous ?? node.anonymous) facts.push("open: no credentials needed");
  if (!keys.length && !creds.jwt && !(creds.anonymous ?? node.anonymous)) {
    facts.push("any non-empty API key is accepted");
  }
  return [rows, facts.length ? h("div.muted.small", {}, facts.join(" · ")) : null];
}

function secretRow(secret, label) {
  const code = h("code", { "data-secret": "masked" }, MASK);
  const reveal = h("button.small", { type: "button", "aria-pressed": "false", "aria-label": `Reveal ${label}` }, "Reveal");
  reveal.addEventListener("click", () => {
    const shown = reveal.getAttribute("aria-pressed") !== "true";
    reveal.setAttribute("aria-pressed", String(shown));
    reveal.textContent = shown ? "Hide" : "Reveal";
    reveal.setAttribute("aria-label", `${shown ? "Hide" : "Reveal"} ${label}`);
    code.textContent = shown ? secret : MASK;
    code.dataset.secret = shown ? "shown" : "masked";
  });
  return h("div.copyrow", {}, code, reveal, copyButton(secret, `Copy ${label}`, "Key copied"));
}

const LANGUAGES = { shell: "cURL", javascript: "JavaScript", python: "Python" };

async function loadSnippets(alias, details) {
  const target = details.querySelector(".snippet-list");
  let snippets;
  try {
    snippets = (await getJson(`/nodes/${encodeURIComponent(alias)}/snippets`)).snippets || [];
  } catch (error) {
    clear(target, h("p.alert", {}, `Could not load snippets: ${error.message}`));
    return;
  }
  details.dataset.loaded = "1";
  const languages = [...new Set(snippets.map((s) => s.language))];
  const tabs = languages.map((language, index) => h("button.tab", {
    type: "button",
    role: "tab",
    id: `snip-${alias}-${language}`,
    "aria-controls": `snip-${alias}-${language}-panel`,
    "aria-selected": String(index === 0),
    tabindex: index === 0 ? "0" : "-1",
    "data-language": language,
  }, LANGUAGES[language] || language));
  const panels = languages.map((language, index) => h("div", {
    role: "tabpanel",
    id: `snip-${alias}-${language}-panel`,
    "aria-labelledby": `snip-${alias}-${language}`,
    hidden: index !== 0,
  }, snippets.filter((s) => s.language === language).map(snippet)));
  const select = (tab) => {
    for (const [i, other] of tabs.entries()) {
      const on = other === tab;
      other.setAttribute("aria-selected", String(on));
      other.tabIndex = on ? 0 : -1;
      panels[i].hidden = !on;
    }
  };
  for (const [i, tab] of tabs.entries()) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length];
      select(next);
      next.focus();
    });
  }
  clear(target, h("div.tablist", { role: "tablist", "aria-label": `Snippets for ${alias}` }, tabs), panels);
}

function snippet(item) {
  return h("div.snippet", { "data-snippet": item.id, "data-language": item.language },
    h("div.snippet-head", {},
      h("h3", {}, item.title),
      copyButton(item.code, `Copy snippet: ${item.title}`, "Snippet copied")),
    h("pre.code", { tabindex: "0" }, h("code", {}, item.code)));
}
