"""``mcploom.mcp_servers._serve``: every server run from its command line answers a malformed stdin line with a JSON-RPC error."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from .test_transports import SERVERS, RawStdio

INIT = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}


@pytest.mark.parametrize("name", SERVERS)
def test_malformed_lines_get_json_rpc_errors_from_the_command_line_server(
    name: str, server_args, tmp_path: Path
) -> None:
    server = RawStdio(
        [sys.executable, "-m", f"mcploom.mcp_servers.{name}", *server_args(name)], tmp_path / "stderr.log"
    )
    try:
        server.request(1, "initialize", INIT)
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        server.send(b"{oops")
        server.send(b'{"foo": 1}')
        errors = [json.loads(server.process.stdout.readline()) for _ in range(2)]
        assert server.request(2, "tools/list")["result"]["tools"]
    finally:
        server.close()
    assert [(error["id"], error["error"]["code"]) for error in errors] == [(None, -32700), (None, -32600)]
