"""A fake OpenAI-compatible HTTP server for tests: real HTTP on 127.0.0.1, stdlib only.

The server runs its own asyncio loop on a background thread, so it serves the real
``openai`` client (sync or async) from any test, whatever event loop the test uses.

Start and stop it as a context manager (sync or async), or use the ``fake_openai``
pytest fixture from :mod:`tests.fakes.pytest_plugin`::

    async with FakeOpenAIServer(api_key="sk-test") as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        ...

Endpoints (under ``server.base_url``, which ends in ``/v1``):

- ``POST /v1/chat/completions``: the reply content comes, in order, from the queue filled
  by :meth:`FakeOpenAIServer.reply_with` (a ``str`` is sent as is, a mapping or list as
  JSON, a callable gets the request JSON and returns either, a :class:`ChatReply` sets
  the finish reason too), else from ``server.responder`` (a callable), else a plausible
  answer generated from ``response_format``'s JSON schema (:func:`example_from_schema`).
  Streaming is not supported (400).
- ``POST /v1/embeddings``: deterministic unit vectors from hashed words
  (:func:`fake_embedding`): texts sharing words get similar vectors. Honours
  ``dimensions``, batched ``input`` and ``encoding_format`` (``float`` or ``base64``);
  an empty string answers 400 as the real API does.
- ``GET /v1/models``: the configured model.

Every request must carry ``Authorization: Bearer <api_key>`` (unless ``api_key=None``),
else it answers 401 ``invalid_api_key``. Faults apply to the next matching requests:

- ``server.fail_next(429, times=2, retry_after=0.5)``: status errors with an OpenAI-style
  error body (and a ``Retry-After`` header when given); any status works (500, 503, 401);
- ``server.malformed_next()``: a 200 chat answer whose content is not valid JSON;
- ``server.stall_next(5.0)``: wait before answering (to trigger client timeouts);
- ``server.disconnect_next()``: close the connection without answering.

Each takes ``path=`` (e.g. ``"/embeddings"``) to target one endpoint. Every request is
journaled as a :class:`JournalEntry` (method, path, lower-cased headers, JSON body,
answered status, monotonic arrival time; stalled and dropped requests are journaled on
arrival with status 0): ``server.journal``, ``server.requests(path)``,
``server.chat_requests``, ``server.embedding_requests``; ``server.reset()`` clears
journal, queues and faults. The default key is ``"sk-fake-test-key"``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http
import json
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self, TypeAlias

from tests.fakes.openai_payloads import example_from_schema, fake_embedding

__all__ = [
    "ChatReply",
    "FakeOpenAIServer",
    "JournalEntry",
    "example_from_schema",
    "fake_embedding",
]

_MAX_BODY = 32 * 1024 * 1024
_MALFORMED_CONTENT = '{"answer": "this JSON is cut off'


@dataclass(frozen=True)
class ChatReply:
    """A scripted chat answer with control over the finish reason.

    Attributes:
        content: The assistant message content (``None`` for no content).
        finish_reason: ``"stop"``, ``"length"`` or ``"content_filter"``.
        refusal: A refusal text, as models with structured output may send.
    """

    content: str | None
    finish_reason: str = "stop"
    refusal: str | None = None


ReplyValue: TypeAlias = str | Mapping[str, Any] | list[Any] | ChatReply
Reply: TypeAlias = ReplyValue | Callable[[dict[str, Any]], ReplyValue]


@dataclass(frozen=True)
class JournalEntry:
    """One request the fake received.

    Attributes:
        method: HTTP method.
        path: Request path without the query string, e.g. ``/v1/chat/completions``.
        headers: Request headers, names lower-cased.
        body: The parsed JSON body, or ``None`` when there was none or it was not JSON.
        status: The status code the fake answered; 0 when it dropped the connection or
            stalled (a stalled request is journaled on arrival, before its late answer).
        at: ``time.monotonic()`` when the request was read.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    status: int
    at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat ``messages`` of the body (empty for other endpoints)."""
        if isinstance(self.body, dict) and isinstance(self.body.get("messages"), list):
            return list(self.body["messages"])
        return []


@dataclass(frozen=True)
class _Fault:
    kind: Literal["status", "malformed", "stall", "disconnect"]
    path: str | None
    status: int = 0
    retry_after: float | None = None
    delay: float = 0.0
    message: str = ""

    def applies_to(self, path: str) -> bool:
        return self.path is None or path.endswith(self.path)


@dataclass
class _Request:
    method: str
    path: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"


@dataclass
class _Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self, keep_alive: bool) -> bytes:
        payload = json.dumps(self.body).encode()
        reason = http.HTTPStatus(self.status).phrase
        headers = {
            "content-type": "application/json",
            "content-length": str(len(payload)),
            "connection": "keep-alive" if keep_alive else "close",
            **self.headers,
        }
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        return f"HTTP/1.1 {self.status} {reason}\r\n{head}\r\n".encode("latin-1") + payload


class _Drop(Exception):
    """Close the connection without answering."""


class FakeOpenAIServer:
    """A scriptable OpenAI-compatible server on 127.0.0.1 and a free port.

    Args:
        api_key: The key every request must present as ``Bearer``; ``None`` accepts any.
        model: Model name echoed in answers and listed by ``/v1/models``.
        embedding_dimensions: Vector size when a request does not set ``dimensions``.
    """

    def __init__(
        self,
        *,
        api_key: str | None = "sk-fake-test-key",
        model: str = "fake-model",
        embedding_dimensions: int = 1536,
    ) -> None:
        self.api_key = api_key
        self.model = model
        self.embedding_dimensions = embedding_dimensions
        self.responder: Callable[[dict[str, Any]], ReplyValue] | None = None
        self._lock = threading.Lock()
        self._journal: list[JournalEntry] = []
        self._replies: deque[Reply] = deque()
        self._faults: list[_Fault] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._port = 0
        self._counter = 0

    def __repr__(self) -> str:
        state = f"base_url={self.base_url!r}" if self._port else "stopped"
        return f"<FakeOpenAIServer {state} requests={len(self.journal)}>"

    # -- lifecycle -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root for clients, e.g. ``http://127.0.0.1:54321/v1``."""
        if not self._port:
            raise RuntimeError("FakeOpenAIServer is not running: call start() first")
        return f"http://127.0.0.1:{self._port}/v1"

    def start(self) -> Self:
        """Bind a free port and serve on a background thread; returns ``self``."""
        if self._thread is not None:
            raise RuntimeError("FakeOpenAIServer is already running")
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="fake-openai", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=10)
        if self._startup_error is not None or not self._port:
            self._thread.join(timeout=5)
            self._thread = None
            raise RuntimeError("FakeOpenAIServer failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        """Close every connection, stop the server and join its thread."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        self._thread = None
        self._port = 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- scripting -------------------------------------------------------------------

    def reply_with(self, *replies: Reply) -> None:
        """Queue chat answers, used one per chat request before any default.

        Args:
            replies: A ``str`` (sent as the content), a mapping or list (sent as JSON),
                a :class:`ChatReply`, or a callable from the request JSON to one of those.
        """
        with self._lock:
            self._replies.extend(replies)

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        path: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with an error status.

        Args:
            status: HTTP status, e.g. 429, 500, 503, 401.
            times: How many requests fail.
            retry_after: Seconds sent in a ``Retry-After`` header, if given.
            path: Only requests whose path ends with this (e.g. ``"/embeddings"``).
            message: The error message in the body.
        """
        text = message or f"Injected failure ({status} {http.HTTPStatus(status).phrase})"
        self._add_fault(_Fault("status", path, status, retry_after, message=text), times)

    def malformed_next(self, *, times: int = 1) -> None:
        """Answer the next ``times`` chat requests with content that is not valid JSON."""
        self._add_fault(_Fault("malformed", "/chat/completions"), times)

    def stall_next(self, seconds: float, *, times: int = 1, path: str | None = None) -> None:
        """Wait ``seconds`` before answering the next ``times`` matching requests."""
        self._add_fault(_Fault("stall", path, delay=seconds), times)

    def disconnect_next(self, *, times: int = 1, path: str | None = None) -> None:
        """Close the connection without answering the next ``times`` matching requests."""
        self._add_fault(_Fault("disconnect", path), times)

    def reset(self) -> None:
        """Forget the journal, queued replies, faults and the responder."""
        with self._lock:
            self._journal.clear()
            self._replies.clear()
            self._faults.clear()
            self.responder = None

    def _add_fault(self, fault: _Fault, times: int) -> None:
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        with self._lock:
            self._faults.extend([fault] * times)

    # -- journal ---------------------------------------------------------------------

    @property
    def journal(self) -> list[JournalEntry]:
        """A copy of every request received so far, oldest first."""
        with self._lock:
            return list(self._journal)

    def requests(self, path: str | None = None) -> list[JournalEntry]:
        """Journaled requests whose path ends with ``path`` (all when ``None``)."""
        return [e for e in self.journal if path is None or e.path.endswith(path)]

    @property
    def chat_requests(self) -> list[JournalEntry]:
        """Journaled ``/chat/completions`` requests."""
        return self.requests("/chat/completions")

    @property
    def embedding_requests(self) -> list[JournalEntry]:
        """Journaled ``/embeddings`` requests."""
        return self.requests("/embeddings")

    # -- serving ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start() through the ready event
            self._startup_error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        handlers: set[asyncio.Task[Any]] = set()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                handlers.add(task)
            try:
                await self._serve_connection(reader, writer)
            except asyncio.CancelledError:
                pass  # stop() cancels open connections; 3.11 logs a re-raised cancel here
            finally:
                handlers.discard(task)
                writer.close()

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0, limit=1 << 20)
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            for task in list(handlers):
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
        self._loop = None

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, _Drop, ValueError):
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                response = await self._answer(request)
                writer.write(response.encode(request.keep_alive))
                await writer.drain()
                if not request.keep_alive:
                    return

    async def _answer(self, request: _Request) -> _Response:
        body = _parse_json(request.body)
        arrived = time.monotonic()
        fault = self._auth_fault(request) or self._take_fault(request.path)
        if fault is not None and fault.kind in ("stall", "disconnect"):
            self._record(request, body, 0, arrived)  # journaled now: the client may give up
            if fault.kind == "disconnect":
                raise _Drop
            await asyncio.sleep(fault.delay)
            return self._route(request, body, None)
        response = self._route(request, body, fault)
        self._record(request, body, response.status, arrived)
        return response

    def _record(self, request: _Request, body: Any, status: int, at: float) -> None:
        entry = JournalEntry(request.method, request.path, dict(request.headers), body, status, at)
        with self._lock:
            self._journal.append(entry)

    def _auth_fault(self, request: _Request) -> _Fault | None:
        if self.api_key is None:
            return None
        if request.headers.get("authorization", "") == f"Bearer {self.api_key}":
            return None
        return _Fault("status", None, 401, message="Incorrect API key provided.")

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.applies_to(path):
                    return self._faults.pop(index)
        return None

    def _route(self, request: _Request, body: Any, fault: _Fault | None) -> _Response:
        if fault is not None and fault.kind == "status":
            return _error_response(fault.status, fault.message, fault.retry_after)
        route = (request.method, request.path.rstrip("/"))
        if route == ("POST", "/v1/chat/completions"):
            return self._chat(body, malformed=fault is not None and fault.kind == "malformed")
        if route == ("POST", "/v1/embeddings"):
            return self._embeddings(body)
        if route == ("GET", "/v1/models"):
            model = {"id": self.model, "object": "model", "created": 0, "owned_by": "fake"}
            return _Response(200, {"object": "list", "data": [model]})
        return _error_response(404, f"Unknown route {request.method} {request.path}")

    # -- chat completions ------------------------------------------------------------

    def _chat(self, body: Any, *, malformed: bool) -> _Response:
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error_response(400, "'messages' is a required property")
        if body.get("stream"):
            return _error_response(400, "the fake OpenAI server does not support streaming")
        reply = ChatReply(_MALFORMED_CONTENT) if malformed else self._next_reply(body)
        with self._lock:
            self._counter += 1
            number = self._counter
        message = {"role": "assistant", "content": reply.content, "refusal": reply.refusal}
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        completion_tokens = len((reply.content or "").split())
        answer = {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model", self.model)),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                },
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return _Response(200, answer, {"x-request-id": f"req-fake-{number}"})

    def _next_reply(self, body: dict[str, Any]) -> ChatReply:
        with self._lock:
            scripted = self._replies.popleft() if self._replies else None
            responder = self.responder
        if scripted is None:
            scripted = responder if responder is not None else _default_reply
        value = scripted(body) if callable(scripted) else scripted
        if isinstance(value, ChatReply):
            return value
        if isinstance(value, str):
            return ChatReply(value)
        return ChatReply(json.dumps(value))

    # -- embeddings ------------------------------------------------------------------

    def _embeddings(self, body: Any) -> _Response:
        if not isinstance(body, dict) or "input" not in body:
            return _error_response(400, "'input' is a required property")
        texts = _embedding_inputs(body["input"])
        if texts is None or any(text == "" for text in texts):
            return _error_response(400, "'$.input' is invalid: empty or of the wrong type")
        dimensions = body.get("dimensions") or self.embedding_dimensions
        if not isinstance(dimensions, int) or dimensions < 1:
            return _error_response(400, f"Invalid 'dimensions': {dimensions!r}")
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = fake_embedding(text, dimensions)
            encoded: Any = vector
            if as_base64:
                encoded = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(len(text.split()) for text in texts)
        answer = {
            "object": "list",
            "data": data,
            "model": str(body.get("model", self.model)),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return _Response(200, answer)


def _default_reply(body: dict[str, Any]) -> ReplyValue:
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        if response_format.get("type") == "json_schema":
            schema = response_format.get("json_schema", {}).get("schema", {})
            return json.dumps(example_from_schema(schema))
        if response_format.get("type") == "json_object":
            return "{}"
    return "This is a reply from the fake OpenAI server."


# -- HTTP plumbing -----------------------------------------------------------------------


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    line = await reader.readline()
    if not line.strip():
        return None
    method, target, version = line.decode("latin-1").split()
    headers: dict[str, str] = {}
    while True:
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        key, _, value = raw.decode("latin-1").partition(":")
        headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        length = int(headers.get("content-length", "0"))
        if length > _MAX_BODY:
            raise ValueError(f"request body too large: {length} bytes")
        body = await reader.readexactly(length) if length else b""
    return _Request(method, target.split("?", 1)[0], version, headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readline()).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # skip trailers
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readline()


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _embedding_inputs(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and value and all(isinstance(v, int) for v in value):
        return [" ".join(map(str, value))]  # one pre-tokenized input
    if isinstance(value, Sequence) and value:
        texts: list[str] = []
        for item in value:
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, Sequence) and all(isinstance(v, int) for v in item):
                texts.append(" ".join(map(str, item)))
            else:
                return None
        return texts
    return None


def _error_response(status: int, message: str, retry_after: float | None = None) -> _Response:
    kinds = {401: "invalid_api_key", 404: "not_found", 429: "rate_limit_exceeded"}
    error_type = "server_error" if status >= 500 else "invalid_request_error"
    if status == 429:
        error_type = "requests"
    body = {
        "error": {"message": message, "type": error_type, "param": None, "code": kinds.get(status)}
    }
    headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
    return _Response(status, body, headers)
