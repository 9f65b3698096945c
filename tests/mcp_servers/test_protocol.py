"""JSON-RPC and MCP edges every one of our servers answers as the specs ask, as real processes on stdio.

- a request whose id is not a string or an integer gets -32600 with id null (it used to be read
  as a notification and get no reply at all);
- an argument a tool does not take is a tool error naming the ones it takes (it used to be
  dropped silently: ``write_text(..., mode=777)`` wrote the file);
- an unknown prompt is -32602 naming the prompts (it used to be code 0 and a logged traceback);
- a server whose stdin closes exits even when a tool call is stuck in a thread;
- the agent server, which sends log messages, declares ``logging`` and answers ``logging/setLevel``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mcploom.mcp_servers import SERVER_NAMES

from .test_transports import RawStdio

INIT = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}


def _started(name: str, args: list[str], tmp_path: Path) -> RawStdio:
    server = RawStdio([sys.executable, "-m", f"mcploom.mcp_servers.{name}", *args], tmp_path / f"{name}.log")
    assert "result" in server.request(1, "initialize", INIT)
    server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    return server


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_requests_with_ids_json_rpc_forbids_get_invalid_request(name: str, server_args, tmp_path: Path) -> None:
    server = _started(name, server_args(name), tmp_path)
    try:
        for bad in (1.5, {}, [1], True, None):
            server.send({"jsonrpc": "2.0", "id": bad, "method": "tools/list"})
            reply = server.request(10, "ping")  # ping answers after the error line, so both are in order
            error = server.lines[-2]
            assert reply["result"] == {} and b'"id":null' in error and b'"code":-32600' in error, error
        assert server.request(11, "tools/list")["result"]["tools"]
    finally:
        server.close()


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_unknown_arguments_and_prompts_are_refused_by_name(name: str, server_args, tmp_path: Path) -> None:
    server = _started(name, server_args(name), tmp_path)
    try:
        tool = server.request(2, "tools/list")["result"]["tools"][0]
        reply = server.request(3, "tools/call", {"name": tool["name"], "arguments": {"bogus_option": 777}})["result"]
        assert reply["isError"] is True
        assert f"{tool['name']} takes no argument 'bogus_option'" in reply["content"][0]["text"]
        prompt = server.request(4, "prompts/get", {"name": "no_such_prompt"})
        assert prompt["error"]["code"] == -32602 and "Unknown prompt 'no_such_prompt'" in prompt["error"]["message"]
    finally:
        server.close()


STUCK = textwrap.dedent(
    """
    import threading
    from mcploom.mcp_servers._server import McploomServer
    from mcploom.mcp_servers._stdio import run_stdio

    server = McploomServer("stuck")

    @server.tool()
    def wait_forever() -> str:
        \"\"\"Never returns: a call stuck in a worker thread.\"\"\"
        threading.Event().wait()
        return "never"

    run_stdio(server, exit_grace_s=1.0)
    """
)


def test_a_server_whose_client_left_exits_even_with_a_call_stuck(tmp_path: Path) -> None:
    server = RawStdio([sys.executable, "-c", STUCK], tmp_path / "stuck.log")
    assert "result" in server.request(1, "initialize", INIT)
    server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    server.send(
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "wait_forever", "arguments": {}}}
    )
    time.sleep(0.5)
    started = time.monotonic()
    server.process.stdin.close()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        pytest.fail("the server kept running after its stdin closed")
    assert time.monotonic() - started < 10


def test_the_agent_server_declares_logging_and_honours_set_level(tmp_path: Path) -> None:
    server = RawStdio([sys.executable, "-m", "mcploom.mcp_servers.agent"], tmp_path / "agent.log")
    try:
        capabilities = server.request(1, "initialize", INIT)["result"]["capabilities"]
        assert "logging" in capabilities
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert server.request(2, "logging/setLevel", {"level": "warning"}) == {"jsonrpc": "2.0", "id": 2, "result": {}}
        bad = server.request(3, "logging/setLevel", {"level": "loud"})
        assert bad["error"]["code"] == -32602
    finally:
        server.close()
