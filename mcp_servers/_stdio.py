"""Serve an ``MCPServer`` on stdio, answering a malformed input line with a JSON-RPC error.

The SDK's stdio transport drops a line that is not JSON-RPC with only a debug log, so a client
that sent it waits forever. :func:`run_stdio` serves exactly like ``server.run("stdio")`` but
answers such a line with ``{"jsonrpc": "2.0", "id": null, "error": {"code": -32700, ...}}``
(``-32600`` for JSON that is not a JSON-RPC message), as JSON-RPC 2.0 asks, and keeps serving.

It needs the low-level server an ``MCPServer`` drives, which the SDK keeps in the private
attribute ``_lowlevel_server`` (``MCPServer.run_stdio_async`` uses it the same way; no public
accessor exists in mcp 2.3). :func:`lowlevel_server` reads it in one place, and
``tests/mcp_servers/test_stdio_runner.py`` fails with a clear message if an SDK release moves it.
"""

from __future__ import annotations

import logging

import anyio
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

__all__ = ["lowlevel_server", "malformed_line_error", "run_stdio"]

logger = logging.getLogger(__name__)


def malformed_line_error(exc: Exception) -> JSONRPCError:
    """The JSON-RPC error that answers an input line the transport could not read as a message."""
    not_json = isinstance(exc, ValidationError) and any(err["type"] == "json_invalid" for err in exc.errors())
    if not_json or not isinstance(exc, ValidationError):
        code, what = PARSE_ERROR, "Parse error: the line is not valid JSON"
    else:
        code, what = INVALID_REQUEST, "Invalid request: the JSON is not a JSON-RPC 2.0 message"
    return JSONRPCError(
        jsonrpc="2.0",
        id=None,
        error=ErrorData(code=code, message=f"{what}. Send one JSON-RPC 2.0 message per line, UTF-8 encoded."),
    )


def lowlevel_server(server: MCPServer) -> Server:
    """The low-level ``Server`` that ``server`` runs on (what ``MCPServer.run_stdio_async`` drives)."""
    return server._lowlevel_server


async def _serve(server: MCPServer) -> None:
    lowlevel = lowlevel_server(server)
    async with stdio_server() as (read_stream, write_stream):
        # A plain memory stream: the server reads a sender's context only where one is attached.
        forward, messages = anyio.create_memory_object_stream[SessionMessage | Exception](0)

        async def answer_malformed_lines() -> None:
            async with forward:
                async for item in read_stream:
                    if isinstance(item, Exception):
                        logger.warning("Answered a malformed input line with a JSON-RPC error: %s", type(item).__name__)
                        await write_stream.send(SessionMessage(malformed_line_error(item)))
                    else:
                        await forward.send(item)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(answer_malformed_lines)
            await lowlevel.run(messages, write_stream, lowlevel.create_initialization_options())
            tasks.cancel_scope.cancel()


def run_stdio(server: MCPServer) -> None:
    """Serve ``server`` on stdin/stdout until stdin closes (a drop-in for ``server.run("stdio")``)."""
    anyio.run(_serve, server)
