"""MCP call latency and start-up time of mcploom's servers against a bare one-tool ``MCPServer``.

1. Median µs per ``call_tool`` over stdio: ``utility.calculate("1 + 2")`` against
   ``minimal_server.add(1, 2)``, same client code, same run, calls interleaved (the order
   alternates each round). Goal: ratio <= 1.1.
2. Seconds from spawn to the ``tools/list`` answer for each server (the ``mcp`` client's own
   handshake included), against a bare ``python -c "import mcp.server.mcpserver"``.

Run it with ``python benchmarks/mcp_call_latency.py [--calls 1000] [--spawns 3]``; the results
table goes to ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from benchmarks._common import hardware, versions

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


def _params(args: list[str]) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=args, cwd=str(ROOT), env=ENV)


def _server_commands(data: Path) -> dict[str, list[str]]:
    db = data / "bench.db"
    if not db.exists():
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE t (x INTEGER)")
        conn.close()
    return {
        "minimal (baseline)": [str(HERE / "minimal_server.py")],
        "utility": ["-m", "mcploom.mcp_servers.utility"],
        "files": ["-m", "mcploom.mcp_servers.files", str(data)],
        "sql": ["-m", "mcploom.mcp_servers.sql", str(db)],
    }


async def call_latency(calls: int, warmup: int = 50) -> dict[str, float]:
    """Median and p90 µs per call for both servers, measured interleaved in one run."""
    samples: dict[str, list[float]] = {"utility.calculate": [], "minimal.add": []}
    async with (
        Client(_params(["-m", "mcploom.mcp_servers.utility"])) as utility,
        Client(_params([str(HERE / "minimal_server.py")])) as minimal,
    ):
        await utility.list_tools()
        await minimal.list_tools()

        async def utility_call() -> None:
            result = await utility.call_tool("calculate", {"expression": "1 + 2"})
            assert result.structured_content["result"] == 3

        async def minimal_call() -> None:
            result = await minimal.call_tool("add", {"a": 1, "b": 2})
            assert not result.is_error

        pair = [("utility.calculate", utility_call), ("minimal.add", minimal_call)]
        for _ in range(warmup):
            for _, call in pair:
                await call()
        for round_ in range(calls):
            for key, call in pair if round_ % 2 == 0 else pair[::-1]:
                started = time.perf_counter_ns()
                await call()
                samples[key].append((time.perf_counter_ns() - started) / 1000)
    stats = {}
    for key, values in samples.items():
        stats[f"{key} median"] = statistics.median(values)
        stats[f"{key} p90"] = statistics.quantiles(values, n=10)[-1]
    stats["ratio"] = stats["utility.calculate median"] / stats["minimal.add median"]
    return stats


async def spawn_to_tools_list(args: list[str]) -> float:
    started = time.perf_counter()
    async with Client(_params(args), read_timeout_seconds=60) as client:
        await client.list_tools()
        return time.perf_counter() - started


def sdk_import_s() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import mcp.server.mcpserver"], check=True, env={**os.environ, **ENV})
    return time.perf_counter() - started


def _hardware() -> str:
    return f"{hardware()}, {versions('mcp')}, {platform.system()}"


async def run(calls: int, spawns: int) -> str:
    hardware = _hardware()
    latency = await call_latency(calls)
    with tempfile.TemporaryDirectory() as tmp:
        commands = _server_commands(Path(tmp))
        startup: dict[str, list[float]] = {name: [] for name in [*commands, "bare SDK import"]}
        for _ in range(spawns):  # interleaved, so load changes hit every server alike
            for name, args in commands.items():
                startup[name].append(await spawn_to_tools_list(args))
            startup["bare SDK import"].append(sdk_import_s())
    lines = [
        "## MCP call latency and server start-up (`benchmarks/mcp_call_latency.py`)",
        "",
        f"Hardware: {hardware}. Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"`call_tool` over stdio, {calls} calls each after 50 warm-up calls, interleaved in one run:",
        "",
        "| server.tool | median µs | p90 µs |",
        "|---|---:|---:|",
        f'| utility.calculate("1 + 2") | {latency["utility.calculate median"]:.0f} '
        f"| {latency['utility.calculate p90']:.0f} |",
        f"| minimal.add(1, 2) (bare MCPServer) | {latency['minimal.add median']:.0f} | {latency['minimal.add p90']:.0f} |",
        f"| **ratio utility / minimal** | **{latency['ratio']:.3f}** (goal <= 1.1) | |",
        "",
        f"Spawn -> `tools/list` answered (mcp client, handshake included), {spawns} spawns each, interleaved:",
        "",
        "| server | median s | min s | max s |",
        "|---|---:|---:|---:|",
    ]
    for name, values in startup.items():
        lines.append(f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")
    lines += [
        "",
        'The bare SDK import (`python -c "import mcp.server.mcpserver"`) is the floor every server pays;',
        "the gap between a server and `minimal (baseline)` is what mcploom adds.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="Measured calls per server (default 1000).")
    parser.add_argument("--spawns", type=int, default=3, help="Spawns per server for start-up time (default 3).")
    parser.add_argument("--out", type=Path, help="Also write the markdown table to this file.")
    args = parser.parse_args()
    table = anyio.run(run, args.calls, args.spawns)
    if args.out:
        args.out.write_text(table)
    print(table)


if __name__ == "__main__":
    main()
