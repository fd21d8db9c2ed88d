// Read a streamed response frame by frame, noting when each one arrived.

/**
 * Split a byte stream into frames as they arrive: "sse" (one event block), "ndjson" (one line)
 * or "text" (each chunk as it came). `onFrame({raw, ms, event, data})` gets the frame's exact
 * text; `ms` is the arrival time since `started` (performance.now()).
 */
export async function readFrames(response, kind, started, onFrame, signal) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const abort = () => reader.cancel().catch(() => {});
  signal?.addEventListener("abort", abort, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      const ms = performance.now() - started;
      if (done) break;
      const chunk = decoder.decode(value, { stream: true });
      if (kind === "text") {
        if (chunk) onFrame({ raw: chunk, ms, event: null, data: chunk });
        continue;
      }
      buffer += chunk;
      buffer = kind === "sse" ? drainSse(buffer, ms, onFrame) : drainLines(buffer, ms, onFrame);
    }
    const rest = buffer + decoder.decode();
    if (rest.trim()) onFrame({ raw: rest, ms: performance.now() - started, ...parseBlock(kind, rest) });
  } finally {
    signal?.removeEventListener("abort", abort);
  }
}

function parseBlock(kind, raw) {
  return kind === "sse" ? parseSse(raw) : { event: null, data: raw.replace(/\r?\n$/, "") };
}

function drainSse(buffer, ms, onFrame) {
  const boundary = /\r?\n\r?\n/g;
  let start = 0;
  let match;
  while ((match = boundary.exec(buffer)) !== null) {
    const raw = buffer.slice(start, match.index + match[0].length);
    start = match.index + match[0].length;
    onFrame({ raw, ms, ...parseSse(raw) });
  }
  return buffer.slice(start);
}

function drainLines(buffer, ms, onFrame) {
  let start = 0;
  let end;
  while ((end = buffer.indexOf("\n", start)) !== -1) {
    const raw = buffer.slice(start, end + 1);
    start = end + 1;
    if (raw.trim()) onFrame({ raw, ms, event: null, data: raw.trim() });
  }
  return buffer.slice(start);
}

/** One SSE block: its `event:` name and `data:` lines joined; comment-only blocks have neither. */
export function parseSse(raw) {
  let event = null;
  const data = [];
  for (const line of raw.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return { event, data: data.length ? data.join("\n") : null };
}

export function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
