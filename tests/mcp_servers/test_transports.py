"""Each server as a real process: the mcp client over stdio and streamable HTTP, and raw JSON-RPC on stdio.

The raw test writes JSON-RPC lines to the server's stdin by hand, so it can send what no client
would (a malformed line, a 2 MB argument), time spawn -> ``tools/list``, and check that every
line the server wrote to stdout is JSON-RPC.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from .conftest import REPO_ROOT, SERVER_ENV

SERVERS = ["utility", "files", "sql"]

# name -> (tool, arguments, expected subset of structured content)
CALLS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "utility": ("calculate", {"expression": "6 * 7"}, {"result": 42}),
    "files": ("read_text", {"path": "notes.txt"}, {"content": "alpha\nbeta\ngamma\n"}),
    "sql": ("query", {"sql": "SELECT name FROM customers ORDER BY id", "limit": 2}, {"rows": [["Ada"], ["Linus"]]}),
}
# name -> arguments that break the input schema, and a tool call with a 2 MB string argument
BAD_ARGS: dict[str, tuple[str, dict[str, Any]]] = {
    "utility": ("calculate", {"expression": 5}),
    "files": ("read_text", {"path": ["notes.txt"]}),
    "sql": ("query", {"sql": "SELECT 1", "limit": "many"}),
}
HUGE: dict[str, tuple[str, dict[str, Any]]] = {
    "utility": ("calculate", {"expression": "1+" * 1_000_000 + "1"}),
    "files": ("read_text", {"path": "a" * 2_000_000}),
    "sql": ("query", {"sql": "SELECT " + "1+" * 1_000_000 + "1"}),
}
TOOLS_LIST_BUDGET_S = 2.0


async def _exercise(client: Client, name: str) -> None:
    tools = (await client.list_tools()).tools
    await client.list_resources()
    await client.list_prompts()
    assert tools and all(tool.description and tool.annotations for tool in tools)
    tool, arguments, expected = CALLS[name]
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert expected.items() <= result.structured_content.items()
    unknown = await client.call_tool("no_such_tool", {})
    assert unknown.is_error and "Unknown tool" in unknown.content[0].text


@pytest.mark.parametrize("name", SERVERS)
async def test_stdio_with_the_mcp_client(name: str, stdio_params, server_args) -> None:
    async with Client(stdio_params(name, *server_args(name)), read_timeout_seconds=30) as client:
        await _exercise(client, name)


@pytest.mark.parametrize("name", SERVERS)
async def test_streamable_http_with_the_mcp_client(name: str, http_server, server_args) -> None:
    async with http_server(name, *server_args(name)) as url:
        async with Client(url, read_timeout_seconds=30) as client:
            await _exercise(client, name)


class RawStdio:
    """A server process driven line by line, recording everything it writes to stdout."""

    def __init__(self, command: list[str], stderr_path: Path | str = os.devnull) -> None:
        self.stderr = open(stderr_path, "wb")  # noqa: SIM115 - closed in close()
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, **SERVER_ENV},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        self.lines: list[bytes] = []

    def send(self, message: dict[str, Any] | bytes) -> None:
        data = message if isinstance(message, bytes) else json.dumps(message).encode()
        self.process.stdin.write(data + b"\n")
        self.process.stdin.flush()

    def request(self, id_: int, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.send({"jsonrpc": "2.0", "id": id_, "method": method, **({"params": params} if params else {})})
        while True:
            line = self.process.stdout.readline()
            assert line, f"server closed stdout; see {self.stderr.name}"
            self.lines.append(line)
            message = json.loads(line)
            if message.get("id") == id_:
                return message

    def close(self) -> None:
        self.process.stdin.close()
        self.lines.extend(self.process.stdout.read().splitlines(keepends=True))
        self.process.wait(timeout=10)
        self.stderr.close()


@pytest.mark.parametrize("name", SERVERS)
def test_raw_stdio_bad_input_stdout_purity_and_startup_time(name: str, server_args, tmp_path: Path) -> None:
    # DEBUG logging: the most a server ever logs, all of which must go to stderr.
    command = [sys.executable, "-m", f"mcploom.mcp_servers.{name}", *server_args(name), "--log-level", "DEBUG"]
    server = RawStdio(command, tmp_path / "stderr.log")
    try:
        init = server.request(
            1,
            "initialize",
            {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
        )
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        listed = server.request(2, "tools/list")
        startup_s = time.perf_counter() - server.started
        assert init["result"]["serverInfo"]["name"] == f"mcploom-{name}"
        assert listed["result"]["tools"]

        # A malformed line: the server must survive it and keep answering.
        server.send(b'{"jsonrpc": "2.0", "id": 3, "method": "tools/list", oops')
        server.send(b"\xff\xfe not even utf-8")
        assert server.request(4, "tools/list")["result"]["tools"]

        unknown = server.request(5, "tools/call", {"name": "no_such_tool", "arguments": {}})
        assert unknown["result"]["isError"] and "Unknown tool: no_such_tool" in unknown["result"]["content"][0]["text"]

        tool, arguments = BAD_ARGS[name]
        bad = server.request(6, "tools/call", {"name": tool, "arguments": arguments})
        assert bad["result"]["isError"] and "validation error" in bad["result"]["content"][0]["text"]

        tool, arguments = HUGE[name]
        huge = server.request(7, "tools/call", {"name": tool, "arguments": arguments})
        text = huge["result"]["content"][0]["text"]
        assert huge["result"]["isError"] and len(text) < 5000, text[:300]

        tool, arguments, expected = CALLS[name]
        good = server.request(8, "tools/call", {"name": tool, "arguments": arguments})
        assert expected.items() <= good["result"]["structuredContent"].items()
    finally:
        server.close()

    for line in server.lines:
        message = json.loads(line)
        assert message["jsonrpc"] == "2.0" and ("result" in message or "error" in message or "method" in message)
    assert (tmp_path / "stderr.log").stat().st_size > 0, "DEBUG logs should have reached stderr"
    print(f"{name}: tools/list answered {startup_s:.2f} s after spawn (this run)")


def _spawn_to_tools_list_s(command: list[str]) -> float:
    """Seconds from spawn to the ``tools/list`` answer, over raw stdio."""
    server = RawStdio(command)
    try:
        params = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}
        server.request(1, "initialize", params)
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        server.request(2, "tools/list")
        return time.perf_counter() - server.started
    finally:
        server.close()


_STARTUP_PROBE = """
import importlib, json, sys, time
started = time.perf_counter()
import mcp.server.mcpserver
sdk = time.perf_counter()
module = importlib.import_module(f"mcploom.mcp_servers.{sys.argv[1]}")
module.create_server(*json.loads(sys.argv[2]))
ours = time.perf_counter()
print(json.dumps({"sdk_import_s": sdk - started, "ours_s": ours - sdk}))
"""


@pytest.mark.parametrize("name", SERVERS)
def test_startup_cost_beyond_the_sdk_import(name: str, server_args) -> None:
    """Spawn -> ``tools/list`` must fit in 2 s. The SDK's own import is 1.4 s on an idle 2-core
    machine (3-4 s when loaded), so what this test pins is our share: importing the server module
    and building the server in a fresh interpreter stays under 0.5 s. Heavy work is lazy."""
    args = {"utility": [], "files": [server_args("files")], "sql": server_args("sql")}[name]
    done = subprocess.run(
        [sys.executable, "-c", _STARTUP_PROBE, name, json.dumps(args)],
        cwd=REPO_ROOT,
        env={**os.environ, **SERVER_ENV},
        capture_output=True,
        check=True,
        timeout=60,
    )
    timings = json.loads(done.stdout.splitlines()[-1])
    spawn_s = _spawn_to_tools_list_s([sys.executable, "-m", f"mcploom.mcp_servers.{name}", *server_args(name)])
    print(f"{name}: {timings}, spawn -> tools/list {spawn_s:.2f} s")
    assert timings["ours_s"] < 0.5, timings
    assert spawn_s < max(TOOLS_LIST_BUDGET_S, timings["sdk_import_s"] + 1.0), (spawn_s, timings)


def test_sql_missing_database_fails_at_startup_with_a_clear_message(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    done = subprocess.run(
        [sys.executable, "-m", "mcploom.mcp_servers.sql", str(missing)],
        cwd=REPO_ROOT,
        env={**os.environ, **SERVER_ENV},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 2  # a usage error from the server's own parser
    assert done.stdout == b""
    assert b"argument DB_PATH: no file at" in done.stderr
    assert not missing.exists()


def test_files_missing_root_fails_at_startup_with_a_clear_message(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mcploom.mcp_servers.files", str(tmp_path / "nowhere")],
        cwd=REPO_ROOT,
        env={**os.environ, **SERVER_ENV},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 2 and done.stdout == b""
    assert b"is not an existing directory" in done.stderr
