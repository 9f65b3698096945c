"""Serve an ``MCPServer`` on stdio, answering every line a JSON-RPC peer is owed an answer for.

The SDK's stdio transport drops a line that is not JSON-RPC with only a debug log, reads a
request whose ``id`` is not a string or an integer (``1.5``, ``{}``, ``[1]``, ``true``, ``null``)
as a notification, and drops a request with a good id but a bad shape (``"params": 5``,
``"jsonrpc": "1.0"``), so the client that sent any of them waits forever. :func:`run_stdio` serves
exactly like ``server.run("stdio")`` but answers such a line as JSON-RPC 2.0 asks: ``-32700``
for a line that is not JSON, ``-32600`` for an invalid request, with the request's id when it
has a valid one and ``null`` otherwise, and keeps serving.

When stdin closes the client is gone: a server started from its command line then exits within
:data:`EXIT_GRACE_S` even if a tool call is still running in a worker thread (a thread cannot be
interrupted, and waiting for it kept a server alive after its client).

It needs the low-level server an ``MCPServer`` drives, which the SDK keeps in the private
attribute ``_lowlevel_server`` (``MCPServer.run_stdio_async`` uses it the same way; no public
accessor exists in mcp 2.3). :func:`lowlevel_server` reads it in one place, and
``tests/mcp_servers/test_stdio_runner.py`` fails with a clear message if an SDK release moves it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import IO, Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

__all__ = ["EXIT_GRACE_S", "lowlevel_server", "malformed_line_error", "run_stdio", "screen"]

logger = logging.getLogger(__name__)

EXIT_GRACE_S = 5.0
"""How long a server whose stdin closed waits for running tool calls before it exits anyway."""

_REJECTED = "\x1emcploom-rejected\n"
"""What the screen hands the SDK in place of a line it answers itself: not JSON, so the SDK
reports it as an error item, which :func:`_serve` recognises by this text."""


def malformed_line_error(
    exc: Exception, reason: str | None = None, request_id: str | int | None = None
) -> JSONRPCError:
    """The JSON-RPC error that answers an input line the transport could not read as a message.

    ``reason`` says what was wrong with a line that was valid JSON but not a valid request, and
    ``request_id`` is that request's id when it had a valid one.
    """
    not_json = isinstance(exc, ValidationError) and any(err["type"] == "json_invalid" for err in exc.errors())
    if reason is not None:
        code, what = INVALID_REQUEST, f"Invalid request: {reason}"
    elif not_json or not isinstance(exc, ValidationError):
        code, what = PARSE_ERROR, "Parse error: the line is not valid JSON"
    else:
        code, what = INVALID_REQUEST, "Invalid request: the JSON is not a JSON-RPC 2.0 message"
    return JSONRPCError(
        jsonrpc="2.0",
        id=request_id,
        error=ErrorData(code=code, message=f"{what}. Send one JSON-RPC 2.0 message per line, UTF-8 encoded."),
    )


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def screen(line: str) -> tuple[str, str | int | None] | None:
    """Why ``line``, meant as a request, is one the SDK would not answer, and the id to answer it
    with (``None`` when the line is fine, or is not a request: the SDK answers or drops those)."""
    if '"method"' not in line:
        return None
    try:
        message = json.loads(line)
    except ValueError:
        return None  # the SDK answers it with a parse error
    if not isinstance(message, dict) or "method" not in message or "id" not in message:
        return None
    request_id = message["id"]
    if not _valid_id(request_id):
        return f"the id {json.dumps(request_id)[:40]} is not a string or an integer", None
    try:
        types.jsonrpc_message_adapter.validate_python(message, by_name=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if not isinstance(part, int)) or "the message"
        return f"not a JSON-RPC 2.0 request ({where}: {first['msg']})", request_id
    return None


class _ScreenedLines:
    """stdin as the SDK reads it (``readline``), with requests of invalid ids set aside in ``rejected``.

    Args:
        source: The text stream to read.
        on_eof: Called once when the stream ends.
    """

    def __init__(self, source: IO[str], on_eof: Callable[[], None]) -> None:
        self._source = source
        self._on_eof: Callable[[], None] | None = on_eof
        self.rejected: deque[tuple[str, str | int | None]] = deque()

    def readline(self) -> str:
        line = self._source.readline()
        while line and not line.strip():  # blank lines (keep-alives) are owed nothing
            line = self._source.readline()
        if not line and self._on_eof is not None:
            self._on_eof, on_eof = None, self._on_eof
            on_eof()
        rejected = screen(line)
        if rejected is None:
            return line
        self.rejected.append(rejected)
        return _REJECTED

    def close(self) -> None:
        self._source.close()


def lowlevel_server(server: MCPServer) -> Server:
    """The low-level ``Server`` that ``server`` runs on (what ``MCPServer.run_stdio_async`` drives)."""
    return server._lowlevel_server


def _rejected_line(item: Exception) -> bool:
    return isinstance(item, ValidationError) and any(err.get("input") == _REJECTED for err in item.errors())


async def _serve(server: MCPServer, exit_grace_s: float | None) -> None:
    lowlevel = lowlevel_server(server)
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False)
    lines = _ScreenedLines(stdin, lambda: _exit_after(exit_grace_s) if exit_grace_s is not None else None)
    async with stdio_server(stdin=anyio.wrap_file(lines)) as (read_stream, write_stream):
        # A plain memory stream: the server reads a sender's context only where one is attached.
        forward, messages = anyio.create_memory_object_stream[SessionMessage | Exception](0)

        async def answer_malformed_lines() -> None:
            async with forward:
                async for item in read_stream:
                    if isinstance(item, Exception):
                        reason, request_id = (
                            lines.rejected.popleft() if _rejected_line(item) and lines.rejected else (None, None)
                        )
                        logger.warning(
                            "Answered an input line with a JSON-RPC error: %s", reason or type(item).__name__
                        )
                        await write_stream.send(SessionMessage(malformed_line_error(item, reason, request_id)))
                    else:
                        await forward.send(item)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(answer_malformed_lines)
            await lowlevel.run(messages, write_stream, lowlevel.create_initialization_options())
            tasks.cancel_scope.cancel()


def _exit_after(seconds: float) -> None:
    """Exit the process in ``seconds`` unless it has exited by then (a daemon timer)."""

    def leave() -> None:
        logger.warning("stdin closed and a tool call is still running after %.0f s; exiting", seconds)
        sys.stderr.flush()
        os._exit(0)

    timer = threading.Timer(seconds, leave)
    timer.daemon = True
    timer.start()


def run_stdio(server: MCPServer, *, exit_grace_s: float | None = None) -> None:
    """Serve ``server`` on stdin/stdout until stdin closes (a drop-in for ``server.run("stdio")``).

    Args:
        exit_grace_s: When stdin closes, end the process after this many seconds if it is still
            running then (a tool call stuck in a thread); ``None`` leaves the process alone.
    """
    anyio.run(_serve, server, exit_grace_s)
