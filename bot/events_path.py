"""``POST /slack/events`` on raw ASGI: Slack's requests skip FastAPI's routing.

Every event Slack sends must be acknowledged within three seconds, and in a burst the
acknowledgements are what the server spends its time on. FastAPI's router, request
and response objects, and Bolt's Starlette adapter cost about a third of each
(``bench/slack_ingest.py``); this middleware reads the body, hands the exact bytes and
the headers to an ``answer`` function, and writes what it returns. Every other path
goes on to FastAPI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["EVENTS_PATH", "Answer", "SlackEventsPath"]

EVENTS_PATH = "/slack/events"


@dataclass(frozen=True)
class Answer:
    """What to send back: a status, headers and a body."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


Answerer = Callable[[bytes, Mapping[str, str], str], Awaitable[Answer]]
"""``answer(body, headers, query)``: headers by lower-case name."""


class SlackEventsPath:
    """An ASGI middleware answering ``POST /slack/events`` with ``answer``."""

    def __init__(self, app: ASGIApp, answer: Answerer) -> None:
        self.app = app
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != EVENTS_PATH:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":  # the Request URL is right, the method is not
            await _send(send, Answer(405, b"", {"allow": "POST"}))
            return
        body = await _body(receive)
        if body is None:  # the client left before sending it all
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        query = scope.get("query_string", b"").decode("latin-1")  # as Starlette reads it
        await _send(send, await self.answer(body, headers, query))


async def _send(send: Send, answer: Answer) -> None:
    out = [(b"content-length", str(len(answer.body)).encode())]
    out += [
        (k.lower().encode("latin-1"), v.encode("latin-1"))
        for k, v in answer.headers.items()
        if k.lower() != "content-length"
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": out})
    await send({"type": "http.response.body", "body": answer.body})


async def _body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
