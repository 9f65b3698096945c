"""Load on the streamable HTTP transport of the utility, rag and agent servers, many clients at once.

Each client is its own MCP session (``mcp.Client`` over streamable HTTP, one connection each) and
calls one tool in a loop: ``utility.calculate("1234 * 5678")``, ``rag.search`` over a small
ingested corpus, or ``agent.ask`` with a question the bundled local model answers with the
calculator. For each concurrency the script reports requests/s, p50 and p99 latency and the
errors (a result with ``isError``, an exception, or a wrong answer), over a fixed number of calls
per client, on loopback only. The server runs in its own process, started once per server.

Run it with ``python -m benchmarks.load_http [--calls 50] [--clients 1,4,16,64] [--agent-clients
1,4] [--agent-calls 2]``; the table goes to ``benchmarks/README.md``. On the shared 2-core machines
the figures are relative: the clients and the server compete for the same cores.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from benchmarks._common import hardware, versions
from tests.net import free_port, stop

ROOT = Path(__file__).resolve().parent.parent
CORPUS = {
    "pasta.md": "# Pasta\nBoil spaghetti for nine to eleven minutes in salted water.\n",
    "tcp.txt": "TCP opens a connection with a three-way handshake: SYN, SYN-ACK, ACK.\n",
    "moon.txt": "Apollo 11 landed on the Moon in July 1969; Armstrong walked first.\n",
}


def _serve(name: str, args: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", f"mcploom.mcp_servers.{name}", *args, "--http", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}/mcp"


async def _wait(url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            async with Client(url, read_timeout_seconds=30) as client:
                await client.list_tools()
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await anyio.sleep(0.2)


async def _client(url: str, tool: str, arguments: dict[str, Any], check: Any, calls: int, out: dict) -> None:
    try:
        async with Client(url, read_timeout_seconds=60) as client:
            for _ in range(calls):
                started = time.perf_counter()
                try:
                    result = await client.call_tool(tool, arguments)
                    ok = not result.is_error and check(result.structured_content)
                except Exception:
                    ok = False
                out["latencies"].append(time.perf_counter() - started)
                out["errors"] += 0 if ok else 1
    except Exception:
        out["errors"] += calls  # the session itself failed


async def _level(url: str, tool: str, arguments: dict[str, Any], check: Any, clients: int, calls: int) -> dict:
    out: dict[str, Any] = {"latencies": [], "errors": 0}
    started = time.perf_counter()
    async with anyio.create_task_group() as tasks:
        for _ in range(clients):
            tasks.start_soon(_client, url, tool, arguments, check, calls, out)
    elapsed = time.perf_counter() - started
    latencies = sorted(out["latencies"])
    p99 = latencies[math.ceil(len(latencies) * 0.99) - 1] if latencies else float("nan")  # nearest rank
    return {
        "clients": clients,
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": p99 * 1000,
        "errors": out["errors"],
    }


def _targets(data: Path) -> dict[str, tuple[list[str], str, dict[str, Any], Any]]:
    """Per server: its arguments, the tool the clients call, the call's arguments, its check."""
    corpus = data / "corpus"
    corpus.mkdir()
    for name, text in CORPUS.items():
        (corpus / name).write_text(text)
    index = data / "index"
    _ingest(corpus, index)
    return {
        "utility": ([], "calculate", {"expression": "1234 * 5678"}, lambda out: out["result"] == 7006652),
        "rag": (
            ["--data-dir", str(index)],
            "search",
            {"query": "how long to boil spaghetti", "k": 2},
            lambda out: out["passages"] and out["passages"][0]["source"].endswith("pasta.md"),
        ),
        "agent": (
            ["--model", "local"],
            "ask",
            {"question": "What is 12 * 12? Use the calculator."},
            lambda out: "144" in out["answer"],
        ),
    }


def _ingest(corpus: Path, index: Path) -> None:
    from mcploom import rag

    rag.open_index(index, rag.DEFAULT_COLLECTION).ingest([corpus])


async def main(loads: dict[str, tuple[list[int], int]]) -> list[str]:
    """Run each server's levels; ``loads`` maps a server to its concurrency levels and calls per client."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, (args, tool, arguments, check) in _targets(Path(folder)).items():
            levels, calls = loads[name]
            process, url = _serve(name, args)
            try:
                await _wait(url)
                await _level(url, tool, arguments, check, 1, 1)  # warm up: the rag and agent models load here
                for clients in levels:
                    result = await _level(url, tool, arguments, check, clients, calls)
                    rows.append(
                        f"| {name}.{tool} | {clients} | {result['requests']} | {result['rps']:.3g} | "
                        f"{result['p50_ms']:.1f} | {result['p99_ms']:.1f} | {result['errors']} |"
                    )
                    print(rows[-1], flush=True)
            finally:
                stop(process)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50, help="Calls per client at each level.")
    parser.add_argument("--clients", default="1,4,16,64", help="Concurrency levels, comma-separated.")
    parser.add_argument("--agent-calls", type=int, default=2, help="Calls per client for the agent server.")
    parser.add_argument("--agent-clients", default="1,4", help="Concurrency levels for the agent server.")
    options = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    print(f"Machine: {hardware()}; {versions('mcp')}")
    print("| server.tool | clients | requests | requests/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    levels = [int(level) for level in options.clients.split(",")]
    agent_levels = [int(level) for level in options.agent_clients.split(",")]
    loads = {"utility": (levels, options.calls), "rag": (levels, options.calls)}
    loads["agent"] = (agent_levels, options.agent_calls)
    anyio.run(main, loads)
