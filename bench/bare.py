"""The yardstick: a bare Litestar + uvicorn (uvloop, httptools) app, nothing of the emulator.

`POST /chat` parses the same JSON body the emulator's chat turn gets (with msgspec, through
Litestar's own `data` parsing) and answers a JSON reply of the same shape. Every benchmark
figure is a ratio to this app's, measured in the same run on the same machine, so a slower or
busier machine moves both sides alike. `python -m bench.bare` serves it on an OS-picked
127.0.0.1 port and prints `Listening on http://127.0.0.1:PORT`, like `emulator serve`.
"""

from __future__ import annotations

import socket
import sys
from datetime import UTC, datetime

import msgspec
import uvicorn
from litestar import Litestar, post


class ChatIn(msgspec.Struct):
    content: str
    threadId: str | None = None  # the wire name


@post("/chat", status_code=200)
async def chat(data: ChatIn) -> dict[str, object]:
    return {
        "threadId": data.threadId or "thr_bare",
        "messageId": "msg_bare",
        "content": "You said: " + data.content,
        "model": "gpt-4o",
        "usage": {"inputTokens": 1, "outputTokens": 1},
        "createdAt": datetime.now(UTC).isoformat(),
    }


app = Litestar(route_handlers=[chat])


def main() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"Listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(
        app, loop="uvloop", http="httptools", log_level="warning", lifespan="on"
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
