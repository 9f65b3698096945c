"""``mcploom.mcp_servers._stdio.run_stdio``: serves like ``server.run("stdio")`` and answers malformed lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from mcp import Client, StdioServerParameters

from .conftest import REPO_ROOT, SERVER_ENV

RUN_UTILITY = (
    "from mcploom.mcp_servers._stdio import run_stdio; from mcploom.mcp_servers.utility import create_server; "
    "run_stdio(create_server())"
)


async def test_mcp_client_session_through_run_stdio() -> None:
    params = StdioServerParameters(command=sys.executable, args=["-c", RUN_UTILITY], cwd=str(REPO_ROOT), env=SERVER_ENV)
    async with Client(params, read_timeout_seconds=30) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("calculate", {"expression": "6 * 7"})
    assert tools == {"calculate", "convert_time"}
    assert result.structured_content["result"] == 42


def test_malformed_lines_get_a_json_rpc_error_and_the_server_goes_on() -> None:
    lines = [
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "0"},
                },
            }
        ).encode(),
        b'{"jsonrpc": "2.0", "method": "notifications/initialized"}',
        b"{oops",
        b'{"foo": 1}',
        b"\xff\xfe not utf-8",
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "calculate", "arguments": {"expression": "2+2"}},
            }
        ).encode(),
    ]
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_UTILITY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=REPO_ROOT,
        env={**os.environ, **SERVER_ENV},
    )
    replies = []
    try:
        process.stdin.write(b"\n".join(lines) + b"\n")
        process.stdin.flush()
        # The SDK drops requests still in flight at end of input, so read up to the last answer first.
        while not replies or replies[-1].get("id") != 2:
            line = process.stdout.readline()
            assert line, "server closed stdout early"
            replies.append(json.loads(line))
    finally:
        process.stdin.close()
        process.wait(timeout=30)
    assert process.returncode == 0
    errors = [reply["error"] for reply in replies if "error" in reply]
    assert [error["code"] for error in errors] == [-32700, -32600, -32700]
    assert all("one JSON-RPC 2.0 message per line" in error["message"] for error in errors)
    assert all(reply["id"] is None for reply in replies if "error" in reply)
    assert replies[-1]["result"]["structuredContent"]["result"] == 4


def test_the_sdk_still_keeps_the_low_level_server_where_run_stdio_reads_it() -> None:
    from mcp.server.lowlevel import Server

    from mcploom.mcp_servers._stdio import lowlevel_server
    from mcploom.mcp_servers.utility import create_server

    found = getattr(create_server(), "_lowlevel_server", None)
    assert isinstance(found, Server), (
        "mcp's MCPServer no longer keeps its low-level Server in `_lowlevel_server` (an SDK release moved it). "
        "Every mcploom server's stdio transport needs it: update mcp_servers/_stdio.py's lowlevel_server()."
    )
    assert lowlevel_server(create_server()) is not None
