"""Scripted HTTP servers on 127.0.0.1 that speak Anthropic's and OpenAI's documented wire formats.

A test scripts what the server answers, points the real SDK at it (``ANTHROPIC_BASE_URL`` /
``OPENAI_BASE_URL``), and then checks both directions: the requests the SDK sent, recorded
here, and what LangChain made of the answers.

Each scripted reply is one complete model turn. The server answers it in the form the request
asks for, as one JSON body or, for ``"stream": true``, as the server-sent events the API sends:

- Anthropic Messages (``POST /v1/messages``): a ``message`` object, or the events
  ``message_start``, ``content_block_start``, ``content_block_delta`` (``text_delta`` /
  ``input_json_delta``), ``content_block_stop``, ``message_delta``, ``message_stop``.
- OpenAI Chat Completions (``POST /v1/chat/completions``): a ``chat.completion`` object, or
  ``data:`` lines of ``chat.completion.chunk`` objects (``delta.content``, ``delta.tool_calls``),
  a usage-only chunk when ``stream_options.include_usage`` is set, then ``data: [DONE]``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

__all__ = [
    "AnthropicReply",
    "Fault",
    "OpenAIReply",
    "RecordedRequest",
    "ScriptedServer",
    "ToolCall",
]


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received: path, headers (lower-cased names) and JSON body."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True)
class WireResponse:
    """What to send back: a JSON body, or a stream of server-sent-event frames (cut after
    ``cut_after`` frames, the connection closed, when set), after ``delay`` seconds."""

    status: int = 200
    body: dict[str, Any] | None = None
    events: list[bytes] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    cut_after: int | None = None


@dataclass(frozen=True)
class Fault:
    """A failure instead of a model turn: an HTTP error (``status``, e.g. 429 with ``retry-after``,
    503, 529, 500), a reply that comes only after ``delay`` seconds (a timeout), or ``reply``'s
    stream cut off after ``cut_after`` frames."""

    path: str
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reply: Reply | None = None
    cut_after: int | None = None

    def render(self, request: RecordedRequest) -> WireResponse:
        if self.reply is not None:
            answer = self.reply.render(request)
            return WireResponse(
                status=answer.status, body=answer.body, events=answer.events, delay=self.delay, cut_after=self.cut_after
            )
        kind = {429: "rate_limit_error", 529: "overloaded_error", 503: "api_error"}.get(self.status, "api_error")
        error = {"type": "error", "error": {"type": kind, "message": f"scripted {self.status}"}}
        return WireResponse(status=self.status, body=error, headers=self.headers, delay=self.delay)


class Reply(Protocol):
    """A scripted model turn that renders itself for one API."""

    path: str

    def render(self, request: RecordedRequest) -> WireResponse: ...


def _pieces(text: str, size: int) -> list[str]:
    """Split text into fragments of ``size`` characters, as a model streams it."""
    return [text[start : start + size] for start in range(0, len(text), size)] or [""]


def _sse(event: str | None, data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


@dataclass(frozen=True)
class ToolCall:
    """A tool call the scripted model makes: its id, tool name and arguments (``raw``: the
    arguments' text as sent, e.g. broken JSON, in place of ``args``)."""

    id: str
    name: str
    args: dict[str, Any]
    raw: str | None = None

    @property
    def arguments(self) -> str:
        return self.raw if self.raw is not None else json.dumps(self.args)


@dataclass(frozen=True)
class AnthropicReply:
    """A Messages API turn: optional text, then tool_use blocks, with usage counts.

    ``stop_reason`` defaults to ``tool_use`` when the turn calls tools, else ``end_turn``.
    """

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    input_tokens: int = 21
    output_tokens: int = 9
    stop_reason: str | None = None
    message_id: str = "msg_01XFDUDYJgAACzvnptvVoYEL"
    path: str = "/v1/messages"

    def content(self) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = [{"type": "text", "text": self.text}] if self.text else []
        blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.args} for c in self.tool_calls]
        return blocks

    def _stop_reason(self) -> str:
        return self.stop_reason or ("tool_use" if self.tool_calls else "end_turn")

    def render(self, request: RecordedRequest) -> WireResponse:
        model = request.body["model"]
        if not request.body.get("stream"):
            return WireResponse(body=self.message(model))
        return WireResponse(events=self.events(model))

    def message(self, model: str) -> dict[str, Any]:
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": self.content(),
            "stop_reason": self._stop_reason(),
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
        }

    def events(self, model: str) -> list[bytes]:
        start = self.message(model) | {
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 1},
        }
        frames = [_sse("message_start", {"type": "message_start", "message": start})]
        frames.append(_sse("ping", {"type": "ping"}))
        for index, block in enumerate(self.content()):
            if block["type"] == "text":
                opening = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": piece} for piece in _pieces(block["text"], 4)]
            else:
                opening = block | {"input": {}}
                arguments = json.dumps(block["input"])
                deltas = [{"type": "input_json_delta", "partial_json": ""}]
                deltas += [{"type": "input_json_delta", "partial_json": p} for p in _pieces(arguments, 7)]
            frames.append(
                _sse(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": opening},
                )
            )
            frames += [
                _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas
            ]
            frames.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        final_delta = {
            "type": "message_delta",
            "delta": {"stop_reason": self._stop_reason(), "stop_sequence": None},
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
        }
        frames.append(_sse("message_delta", final_delta))
        frames.append(_sse("message_stop", {"type": "message_stop"}))
        return frames


@dataclass(frozen=True)
class OpenAIReply:
    """A Chat Completions turn: optional text and tool calls, with usage counts.

    ``finish_reason`` defaults to ``tool_calls`` when the turn calls tools, else ``stop``.
    """

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    prompt_tokens: int = 17
    completion_tokens: int = 8
    finish_reason: str | None = None
    completion_id: str = "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"
    created: int = 1741570283
    path: str = "/v1/chat/completions"

    def _finish_reason(self) -> str:
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")

    def _usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }

    def _envelope(self, model: str, obj: str) -> dict[str, Any]:
        return {"id": self.completion_id, "object": obj, "created": self.created, "model": model}

    def render(self, request: RecordedRequest) -> WireResponse:
        model = request.body["model"]
        if not request.body.get("stream"):
            return WireResponse(body=self.completion(model))
        include_usage = bool((request.body.get("stream_options") or {}).get("include_usage"))
        return WireResponse(events=self.chunks(model, include_usage=include_usage))

    def completion(self, model: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.text, "refusal": None}
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in self.tool_calls
            ]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": self._finish_reason()}
        return self._envelope(model, "chat.completion") | {"choices": [choice], "usage": self._usage()}

    def chunks(self, model: str, *, include_usage: bool) -> list[bytes]:
        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            body = self._envelope(model, "chat.completion.chunk") | {"choices": [choice]}
            return _sse(None, body | ({"usage": None} if include_usage else {}))

        frames = [chunk({"role": "assistant", "content": "", "refusal": None})]
        frames += [chunk({"content": piece}) for piece in _pieces(self.text or "", 4) if self.text]
        for index, call in enumerate(self.tool_calls):
            opening = {"index": index, "id": call.id, "type": "function"}
            frames.append(chunk({"tool_calls": [opening | {"function": {"name": call.name, "arguments": ""}}]}))
            frames += [
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                for piece in _pieces(call.arguments, 7)
            ]
        frames.append(chunk({}, self._finish_reason()))
        if include_usage:
            usage_chunk = self._envelope(model, "chat.completion.chunk") | {
                "choices": [],
                "usage": self._usage(),
            }
            frames.append(_sse(None, usage_chunk))
        frames.append(_sse(None, "[DONE]"))
        return frames


class _QuietHTTPServer(ThreadingHTTPServer):
    """Keeps a client that hung up (after a 500, a timeout) from printing a traceback on stderr,
    which a test reading the CLI's stderr would see."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class ScriptedServer:
    """An HTTP server on a free 127.0.0.1 port that answers with scripted replies, in order.

    Every request is recorded in ``requests``. A request to a path the next reply does not
    serve, or one after the script ran out, gets a 400 (which the SDKs do not retry), so a
    test fails at once instead of hanging.

    Example:
        with ScriptedServer(AnthropicReply(text="Hi")) as server:
            monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
            ...
            assert server.requests[0].body["model"] == "claude-sonnet-4-5"
    """

    def __init__(self, *replies: Reply) -> None:
        self._replies: deque[Reply] = deque(replies)
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._httpd = _QuietHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="scripted-server", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def then(self, *replies: Reply) -> None:
        """Append ``replies`` to the script (what the server answers once the earlier ones are used)."""
        with self._lock:
            self._replies.extend(replies)

    def _answer(self, request: RecordedRequest) -> WireResponse:
        with self._lock:
            self.requests.append(request)
            if not self._replies or self._replies[0].path != request.path:
                expected = self._replies[0].path if self._replies else "nothing (script finished)"
                error = {"message": f"scripted server expected {expected}, got POST {request.path}"}
                return WireResponse(status=400, body={"type": "error", "error": error})
            reply = self._replies.popleft()
        return reply.render(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                response = server._answer(RecordedRequest(self.path, headers, json.loads(raw or b"{}")))
                if response.delay:
                    time.sleep(response.delay)
                try:
                    if response.body is not None:
                        self._send_json(response)
                    else:
                        self._send_events(response)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                    self.close_connection = True

            def _send_json(self, response: WireResponse) -> None:
                data = json.dumps(response.body).encode()
                self.send_response(response.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _send_events(self, response: WireResponse) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for index, frame in enumerate(response.events):
                    if response.cut_after is not None and index >= response.cut_after:
                        self.close_connection = True  # the stream stops mid-answer, no terminating chunk
                        return
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
                pass

        return Handler
