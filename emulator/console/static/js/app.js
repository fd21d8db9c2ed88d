// The console's shell: tabs routed by #hash, the server status, the login field, shared node list.

import { getJson, setToken, token } from "./api.js";
import * as chaos from "./chaos.js";
import * as config from "./config.js";
import * as nodes from "./nodes.js";
import * as playground from "./playground.js";
import * as threads from "./threads.js";
import * as traffic from "./traffic.js";

/** API reference: the schema page embedded (a frame cannot send the token: then links only). */
const reference = {
  show() {
    const holder = document.getElementById("reference-frame");
    if (token() || holder.firstChild) return;
    const frame = document.createElement("iframe");
    frame.src = "/_emulator/schema";
    frame.title = "API reference";
    frame.loading = "lazy";
    holder.append(frame);
  },
};

const VIEWS = { nodes, playground, traffic, threads, config, chaos, reference };
const HEALTH_POLL_MS = 2000;

/** Shared by the views: the node list and the config generation, kept fresh by polling health. */
export const state = { nodes: [], generation: null, health: null, current: null };

function route() {
  const [name, ...rest] = location.hash.replace(/^#/, "").split("/");
  const view = name in VIEWS ? name : "nodes";
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : null;
  for (const section of document.querySelectorAll(".view")) {
    section.hidden = section.dataset.view !== view;
  }
  for (const link of document.querySelectorAll(".tabs a")) {
    if (link.dataset.tab === view) {
      link.setAttribute("aria-current", "page");
      link.scrollIntoView({ block: "nearest", inline: "nearest" }); // narrow screens scroll the tabs
    }
    else link.removeAttribute("aria-current");
  }
  const titles = { reference: "API reference" };
  document.title = `${titles[view] || view[0].toUpperCase() + view.slice(1)} · Emulator console`;
  const changed = state.current !== view;
  state.current = view;
  VIEWS[view]?.show?.(arg, changed);
}

async function loadNodes() {
  const body = await getJson("/nodes");
  state.nodes = body.nodes || [];
  document.dispatchEvent(new CustomEvent("console:nodes", { detail: state.nodes }));
}

function renderStatus(health, failed) {
  const el = document.getElementById("server-status");
  const text = el.querySelector(".status-text");
  el.classList.remove("ok", "degraded", "down");
  if (failed) {
    el.classList.add("down");
    text.textContent = "server unreachable";
    return;
  }
  el.classList.add(health.status === "ok" ? "ok" : "degraded");
  text.replaceChildren(
    health.status === "ok" ? `generation ${health.generation}` : "",
  );
  if (health.status !== "ok") {
    const link = document.createElement("a");
    link.href = "#config";
    link.textContent = `config error · generation ${health.generation}`;
    text.append(link);
  }
}

async function pollHealth() {
  try {
    const health = await getJson("/health");
    state.health = health;
    renderStatus(health, false);
    if (health.generation !== state.generation) {
      const first = state.generation === null;
      state.generation = health.generation;
      await loadNodes();
      document.dispatchEvent(
        new CustomEvent("console:generation", { detail: { health, first } }),
      );
    } else {
      document.dispatchEvent(new CustomEvent("console:health", { detail: health }));
    }
  } catch (error) {
    if (error.status === 401) {
      const el = document.getElementById("server-status");
      el.classList.remove("ok", "degraded", "down");
      el.querySelector(".status-text").textContent = "sign-in needed";
    } else {
      renderStatus(null, true);
    }
  }
}

function setUpLogin() {
  const form = document.getElementById("login");
  const input = document.getElementById("login-token");
  const message = document.getElementById("login-error");
  document.addEventListener("console:unauthorized", () => {
    const wasHidden = form.hidden;
    form.hidden = false;
    message.textContent = token() ? "That token was refused." : "";
    if (wasHidden) input.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    try {
      await getJson("/health");
    } catch {
      return; // the 401 handler above shows the message
    }
    form.hidden = true;
    input.value = "";
    state.generation = null;
    await pollHealth();
    document.dispatchEvent(new CustomEvent("console:signed-in"));
    route();
  });
}

function start() {
  setUpLogin();
  for (const view of Object.values(VIEWS)) view?.init?.(state);
  window.addEventListener("hashchange", route);
  // A view that changed the server (a config save, a reset) asks for fresh state at once.
  document.addEventListener("console:poll", () => pollHealth());
  route();
  pollHealth();
  setInterval(() => {
    if (!document.hidden) pollHealth();
  }, HEALTH_POLL_MS);
}

start();
