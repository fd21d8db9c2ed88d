// Control-plane calls: every one sends X-Emulator-Client and, when set, the bearer token.

const TOKEN_KEY = "emulator.controlToken";
export const CONTROL = "/_emulator";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class HttpError extends Error {
  constructor(status, body) {
    super(errorMessage(status, body));
    this.status = status;
    this.body = body;
  }
}

function errorMessage(status, body) {
  const error = body && typeof body === "object" ? body.error : null;
  if (error && typeof error === "object" && error.message) return `${status}: ${error.message}`;
  if (typeof error === "string") return `${status}: ${error}`;
  return `HTTP ${status}`;
}

/** Headers for a control-plane call. */
export function controlHeaders(extra = {}) {
  const headers = { "X-Emulator-Client": "console", ...extra };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  return headers;
}

/** fetch() a control-plane path; a 401 asks for the token (and rejects). */
export async function control(path, { method = "GET", body, headers = {}, signal } = {}) {
  const response = await fetch(CONTROL + path, {
    method,
    body,
    signal,
    headers: controlHeaders(headers),
    cache: "no-store",
  });
  if (response.status === 401) {
    document.dispatchEvent(new CustomEvent("console:unauthorized"));
    throw new HttpError(401, await readJson(response));
  }
  return response;
}

export async function readJson(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A control-plane call whose JSON answer is returned; non-2xx rejects with HttpError. */
export async function getJson(path, options = {}) {
  const response = await control(path, options);
  const body = await readJson(response);
  if (!response.ok) throw new HttpError(response.status, body);
  return body;
}

export function sendJson(path, method, value) {
  return getJson(path, {
    method,
    body: value === undefined ? undefined : JSON.stringify(value),
    headers: value === undefined ? {} : { "Content-Type": "application/json" },
  });
}
