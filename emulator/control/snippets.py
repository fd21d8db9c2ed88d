"""Ready-to-paste client snippets for a node: cURL, JavaScript `fetch` and Python `requests`.

Where an API's documentation (the seeds) prints a snippet, it is used as printed, with only the
documentation's placeholders swapped for the node's real path-form URL, key and agent id. The
other snippets follow the same shape. Each snippet runs as is against this server
(tests/e2e/test_console_snippets.py runs them all).
"""

from __future__ import annotations

import warnings
from typing import Literal

import msgspec

from emulator.config.model import Node

Language = Literal["shell", "javascript", "python"]

# Sent on a node with neither keys nor a JWT secret, which takes any credential.
ANY_KEY = "sk-emulator-any-key"


class Snippet(msgspec.Struct, frozen=True):
    id: str
    title: str
    language: Language
    code: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "language": self.language, "code": self.code}


def credential(node: Node) -> str:
    """A credential that opens `node`: its first key, else a JWT signed with its secret."""
    auth = node.auth
    if auth.api_keys:
        return auth.api_keys[0]
    if auth.jwt is not None:
        import jwt  # only a node that takes JWTs needs PyJWT here

        # A fixed far `exp` (2100-01-01): nodes require one, and the snippet stays the same.
        claims: dict[str, str | int] = {"sub": "emulator-console", "exp": 4102444800}
        if auth.jwt.audience is not None:
            claims["aud"] = auth.jwt.audience
        if auth.jwt.issuer is not None:
            claims["iss"] = auth.jwt.issuer
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # short dev secrets are the point
            return jwt.encode(claims, auth.jwt.secret, algorithm="HS256")
    return ANY_KEY


def snippets(node: Node, base: str) -> list[Snippet]:
    """The snippets of `node`'s API, filled in. `base` is the node's path-form URL
    (`http://127.0.0.1:8080/nodes/ALIAS`)."""
    swaps = {**_SWAPS[node.api], "@BASE@": base, "@KEY@": credential(node), "@ALIAS@": node.alias}
    filled = []
    for snippet in _TEMPLATES[node.api]:
        code = snippet.code
        for placeholder, value in swaps.items():
            code = code.replace(placeholder, value)
        filled.append(Snippet(snippet.id, snippet.title, snippet.language, code))
    return filled


# Each documentation's own placeholders, mapped to ours.
_SWAPS: dict[str, dict[str, str]] = {
    "interlocute": {
        "https://my-node.interlocute.ai": "@BASE@",
        "${process.env.INTERLOCUTE_API_KEY}": "@KEY@",
        "$INTERLOCUTE_API_KEY": "@KEY@",
    },
    "agent-slug": {
        "https://PLATFORM-URL-PLACEHOLDER": "@BASE@",
        "/v1/api/chat/support-agent": "/v1/api/chat/@ALIAS@",
        "YOUR_API_KEY": "@KEY@",
    },
    "sentientone": {
        "https://api.sentientone.ai": "@BASE@",
        "$SENTIENTONE_KEY": "@KEY@",
        "$SENTIENTONE_AGENT": "@ALIAS@",
    },
    "widget": {
        "https://your-api-domain.com": "@BASE@",
        "your-api-key-here": "@KEY@",
    },
}

_INTERLOCUTE = [
    Snippet(
        "curl-send",
        "cURL: Send a message",
        "shell",
        """curl -X POST https://my-node.interlocute.ai/chat \\
-H "Authorization: Bearer $INTERLOCUTE_API_KEY" \\
-H "Content-Type: application/json" \\
-d '{
"content": "Hello! What can you do?"
}'""",
    ),
    Snippet(
        "curl-stream",
        "cURL: Stream a response",
        "shell",
        """curl -N -X POST https://my-node.interlocute.ai/chat/stream \\
-H "Authorization: Bearer $INTERLOCUTE_API_KEY" \\
-H "Content-Type: application/json" \\
-d '{
"content": "Write a haiku about AI."
}'""",
    ),
    Snippet(
        "curl-chit",
        "cURL: Fetch node info (/chit)",
        "shell",
        """curl -H "Authorization: Bearer $INTERLOCUTE_API_KEY" \\
https://my-node.interlocute.ai/chit/identity""",
    ),
    Snippet(
        "js-send",
        "JavaScript: Send a message",
        "javascript",
        """const response = await fetch(
"https://my-node.interlocute.ai/chat",
{
method: "POST",
headers: {
"Authorization": `Bearer ${process.env.INTERLOCUTE_API_KEY}`,
"Content-Type": "application/json",
},
body: JSON.stringify({ content: "Hello from JS!" }),
}
);
const data = await response.json();
console.log(data);""",
    ),
    Snippet(
        "js-stream",
        "JavaScript: Stream a response",
        "javascript",
        """const response = await fetch(
"https://my-node.interlocute.ai/chat/stream",
{
method: "POST",
headers: {
"Authorization": `Bearer ${process.env.INTERLOCUTE_API_KEY}`,
"Content-Type": "application/json",
},
body: JSON.stringify({ content: "Stream me a story." }),
}
);
const reader = response.body.getReader();
const decoder = new TextDecoder();
while (true) {
const { done, value } = await reader.read();
if (done) break;
process.stdout.write(decoder.decode(value));
}""",
    ),
    Snippet(
        "python-stream",
        "Python: Stream a response",
        "python",
        """import json
import requests

response = requests.post(
    "https://my-node.interlocute.ai/chat/stream",
    headers={
        "Authorization": "Bearer $INTERLOCUTE_API_KEY",
        "Content-Type": "application/json",
    },
    json={"content": "Stream me a story."},
    stream=True,
)
event = None
for line in response.iter_lines(decode_unicode=True):
    if line.startswith("event: "):
        event = line[len("event: "):]
    elif line.startswith("data: ") and event == "token":
        print(json.loads(line[len("data: "):])["content"], end="", flush=True)
print()""",
    ),
]

_AGENT_SLUG = [
    Snippet(
        "curl-send",
        "cURL: Basic chat",
        "shell",
        """curl -X POST "https://PLATFORM-URL-PLACEHOLDER/v1/api/chat/support-agent" \\
  -H "Authorization: Bearer YOUR_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "message": "What are your business hours?",
    "stream": false
  }'""",
    ),
    Snippet(
        "curl-stream",
        "cURL: Streaming response",
        "shell",
        """curl -X POST "https://PLATFORM-URL-PLACEHOLDER/v1/api/chat/support-agent" \\
  -H "Authorization: Bearer YOUR_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "message": "Tell me a long story",
    "stream": true
  }'""",
    ),
    Snippet(
        "js-stream",
        "JavaScript: Stream a response",
        "javascript",
        """const url = "https://PLATFORM-URL-PLACEHOLDER/v1/api/chat/support-agent";
const response = await fetch(url, {
  method: "POST",
  headers: {
    "Authorization": "Bearer YOUR_API_KEY",
    "Content-Type": "application/json",
  },
  body: JSON.stringify({ message: "Tell me a long story", stream: true }),
});
const reader = response.body.getReader();
const decoder = new TextDecoder();
let buffered = "";
while (true) {
  const { done, value } = await reader.read();
  if (done) break;
  buffered += decoder.decode(value, { stream: true });
  const lines = buffered.split("\\n");
  buffered = lines.pop();
  for (const line of lines) {
    if (!line.startsWith("data: ")) continue;
    const data = line.slice("data: ".length);
    if (data === "[DONE]") { console.log(); break; }
    process.stdout.write(JSON.parse(data).chunk);
  }
}""",
    ),
    Snippet(
        "python-stream",
        "Python: Stream a response",
        "python",
        """import json
import requests

response = requests.post(
    "https://PLATFORM-URL-PLACEHOLDER/v1/api/chat/support-agent",
    headers={
        "Authorization": "Bearer YOUR_API_KEY",
        "Content-Type": "application/json",
    },
    json={"message": "Tell me a long story", "stream": True},
    stream=True,
)
for line in response.iter_lines(decode_unicode=True):
    if not line.startswith("data: "):
        continue
    data = line[len("data: "):]
    if data == "[DONE]":
        break
    print(json.loads(data)["chunk"], end="", flush=True)
print()""",
    ),
]

_SENTIENTONE = [
    Snippet(
        "curl-stream",
        "cURL: Hello, agent",
        "shell",
        """curl -N -X POST https://api.sentientone.ai/v1/chat/stream \\
-H "Content-Type: application/json" \\
-H "X-Api-Key: $SENTIENTONE_KEY" \\
-H "X-Agent-Id: $SENTIENTONE_AGENT" \\
-d '{ "message": "Hello, agent!" }'""",
    ),
    Snippet(
        "js-stream",
        "JavaScript: Stream a response",
        "javascript",
        """const response = await fetch("https://api.sentientone.ai/v1/chat/stream", {
  method: "POST",
  headers: {
    "Content-Type": "application/json",
    "X-Api-Key": "$SENTIENTONE_KEY",
    "X-Agent-Id": "$SENTIENTONE_AGENT",
  },
  body: JSON.stringify({ message: "Stream me a haiku." }),
});
const reader = response.body.getReader();
const decoder = new TextDecoder();
let buffered = "";
while (true) {
  const { done, value } = await reader.read();
  if (done) break;
  buffered += decoder.decode(value, { stream: true });
  const lines = buffered.split("\\n");
  buffered = lines.pop();
  for (const line of lines) {
    if (!line.startsWith("data: ")) continue;
    const event = JSON.parse(line.slice("data: ".length));
    if (event.type === "delta") process.stdout.write(event.content);
    if (event.type === "done") console.log("\\nconversation:", event.conversation_id);
  }
}""",
    ),
    Snippet(
        "python-stream",
        "Python: Stream a response",
        "python",
        """import json
import requests

response = requests.post(
    "https://api.sentientone.ai/v1/chat/stream",
    headers={
        "Content-Type": "application/json",
        "X-Api-Key": "$SENTIENTONE_KEY",
        "X-Agent-Id": "$SENTIENTONE_AGENT",
    },
    json={"message": "Stream me a haiku."},
    stream=True,
)
for line in response.iter_lines(decode_unicode=True):
    if not line.startswith("data: "):
        continue
    event = json.loads(line[len("data: "):])
    if event["type"] == "delta":
        print(event["content"], end="", flush=True)
    elif event["type"] == "done":
        print(f"\\nconversation: {event['conversation_id']}")""",
    ),
]

_WIDGET = [
    Snippet(
        "curl-stream",
        "cURL: Stream a response",
        "shell",
        """curl -X POST https://your-api-domain.com/v1/chat/stream \\
  -H "Content-Type: application/json" \\
  -H "x-api-key: your-api-key-here" \\
  -d '{
    "sessionId": "user-123",
    "message": "Tell me about your services"
  }'""",
    ),
    Snippet(
        "js-stream",
        "JavaScript: Stream a response",
        "javascript",
        """const response = await fetch('https://your-api-domain.com/v1/chat/stream', {
  method: 'POST',
  headers: {
    'Content-Type': 'application/json',
    'x-api-key': 'your-api-key-here'
  },
  body: JSON.stringify({
    sessionId: 'user-123',
    message: 'Tell me about your services'
  })
});
const reader = response.body.getReader();
const decoder = new TextDecoder();
while (true) {
  const { done, value } = await reader.read();
  if (done) break;
  const chunk = decoder.decode(value);
  const lines = chunk.split('\\n').filter(line => line.trim());
  for (const line of lines) {
    const event = JSON.parse(line);
    switch (event.type) {
      case 'start':
        console.log('Stream started:', event.conversationId);
        break;
      case 'token':
        process.stdout.write(event.token);
        break;
      case 'done':
        console.log('\\nComplete message:', event.message);
        break;
      case 'error':
        console.error('Error:', event.error);
        break;
    }
  }
}""",
    ),
    Snippet(
        "python-stream",
        "Python: Stream a response",
        "python",
        """import requests
import json
response = requests.post(
    'https://your-api-domain.com/v1/chat/stream',
    headers={
        'Content-Type': 'application/json',
        'x-api-key': 'your-api-key-here'
    },
    json={
        'sessionId': 'user-123',
        'message': 'Tell me about your services'
    },
    stream=True
)
for line in response.iter_lines():
    if line:
        event = json.loads(line)
        if event['type'] == 'start':
            print(f"Stream started: {event['conversationId']}")
        elif event['type'] == 'token':
            print(event['token'], end='', flush=True)
        elif event['type'] == 'done':
            print(f"\\nComplete message: {event['message']}")
        elif event['type'] == 'error':
            print(f"Error: {event['error']}")""",
    ),
]

_TEMPLATES: dict[str, list[Snippet]] = {
    "interlocute": _INTERLOCUTE,
    "agent-slug": _AGENT_SLUG,
    "sentientone": _SENTIENTONE,
    "widget": _WIDGET,
}
