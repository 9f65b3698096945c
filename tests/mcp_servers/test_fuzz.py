"""Fuzzing every server as a real process on stdio: raw JSON-RPC lines and tool arguments drawn by
hypothesis (``fuzz.py`` says what is checked). A quick slice runs in CI; the full run, 10,000
inputs of each kind per server, is opt-in: ``python -m pytest -m fuzz tests/mcp_servers/test_fuzz.py``.

Writes stay inside the files server's root: a snapshot of everything outside it is compared
before and after.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcploom.mcp_servers import SERVER_NAMES

from .fuzz import check_replies, check_tool_call, from_schema, json_values, raw_lines
from .test_transports import RawStdio

INIT = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "0"}}
QUICK, FULL = 150, 10_000


def _snapshot(folder: Path, skip: Path) -> dict[str, str]:
    return {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and skip not in path.parents and not path.name.endswith(".log")
    }


@pytest.fixture(scope="module", params=SERVER_NAMES)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawStdio]:
    """One running server for a whole fuzz test, with its tools listed; its writes checked at the end."""
    base = tmp_path_factory.mktemp(request.param)
    root = base / "root"
    (root / "docs").mkdir(parents=True)
    (root / "notes.txt").write_text("alpha\nbeta\n")
    (root / "docs" / "guide.md").write_text("# Guide\npip install\n")
    (base / "outside.txt").write_text("do not touch\n")
    db = base / "shop.db"
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.executescript(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t (name) VALUES ('a'), ('b');"
        )
    conn.close()
    args = {
        "utility": [],
        "files": [str(root)],
        "sql": [str(db)],
        "rag": ["--data-dir", str(base / "index"), "--allow-root", str(root)],
        "agent": ["--model", "gguf:/nonexistent/model.gguf"],  # ask fails fast, with a tool error
    }[request.param]
    before = _snapshot(base, root)
    process = RawStdio([sys.executable, "-m", f"mcploom.mcp_servers.{request.param}", *args], base / "server.log")
    assert "result" in process.request("init", "initialize", INIT)
    process.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    process.tools = process.request("tools", "tools/list")["result"]["tools"]  # type: ignore[attr-defined]
    process.name = request.param  # type: ignore[attr-defined]
    yield process
    alive = process.request("last", "ping")
    process.close()
    assert alive.get("result") == {}
    after = _snapshot(base, root)
    assert {k: v for k, v in after.items() if "index" not in k} == {k: v for k, v in before.items() if "index" not in k}


def _lines(server: RawStdio, examples: int) -> None:
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(line=raw_lines)
    def run(line: str) -> None:
        check_replies(server, line)

    run()


def _arguments(server: RawStdio, examples: int) -> None:
    tools = {tool["name"]: tool["inputSchema"] for tool in server.tools}  # type: ignore[attr-defined]
    valid = st.one_of(*(st.tuples(st.just(name), from_schema(schema)) for name, schema in tools.items()))
    wild = st.tuples(st.sampled_from(sorted(tools)), json_values)

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(call=st.one_of(valid, wild))
    def run(call: tuple[str, object]) -> None:
        name, arguments = call
        check_tool_call(server, name, arguments)

    run()


def test_raw_lines_quick(server: RawStdio) -> None:
    _lines(server, QUICK)


def test_tool_arguments_quick(server: RawStdio) -> None:
    _arguments(server, QUICK // 3 if server.name == "rag" else QUICK)  # type: ignore[attr-defined]


@pytest.mark.fuzz
@pytest.mark.timeout(3600)
def test_raw_lines_full(server: RawStdio) -> None:
    _lines(server, FULL)


@pytest.mark.fuzz
@pytest.mark.timeout(3600)
def test_tool_arguments_full(server: RawStdio) -> None:
    _arguments(server, FULL)
