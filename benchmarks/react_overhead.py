"""Cost of one ReAct round in mcploom's ``build_react_graph`` against ``langchain.agents.create_agent``.

A round is what a one-tool question costs the framework: the model asks for ``calculate``, the
tool runs, the model answers (three graph steps: agent -> tools -> agent). The model is the
scripted fake of ``tests/fakes.py`` (same script for both graphs), so what is timed is graph,
message and tool plumbing, not inference.

1. With ONE real MCP call: ``utility.calculate("1234 * 5678")`` over stdio through one
   persistent ``MCPToolkit`` session shared by both graphs, ``ainvoke``. Goal: ratio <= 1.0.
2. Without MCP: a plain Python ``calculate`` tool, ``invoke`` and ``ainvoke``, for the graph
   overhead alone; also given per graph step.

Both graphs are compiled once; rounds alternate which graph goes first; medians are reported.

Run it with ``python -m benchmarks.react_overhead [--quick] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from langchain.agents import create_agent  # noqa: E402
from langchain_core.messages import HumanMessage, ToolMessage  # noqa: E402
from langchain_core.tools import BaseTool  # noqa: E402

from benchmarks._common import ANSWER, EXPRESSION, calculate, hardware, scripted_round, versions  # noqa: E402
from mcploom.agents.mcp_client import MCPToolkit  # noqa: E402
from mcploom.graphs.react import build_react_graph  # noqa: E402
from mcploom.mcp_servers import server_entry  # noqa: E402
from tests.fakes import ScriptedChatModel  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
QUESTION = "What is 1234 * 5678? Use the calculator."
STEPS_PER_ROUND = 3
"""agent (asks for the tool) -> tools -> agent (answers)."""


def _graphs(tools: list[BaseTool]) -> dict[str, Any]:
    # One scripted model per graph: each sees exactly tool call, answer, tool call, answer, ...
    return {
        "mcploom build_react_graph": build_react_graph(model=ScriptedChatModel(messages=scripted_round()), tools=tools),
        "langchain create_agent": create_agent(ScriptedChatModel(messages=scripted_round()), tools=tools),
    }


def _check(result: dict[str, Any]) -> None:
    messages = result["messages"]
    observation = next(m for m in messages if isinstance(m, ToolMessage))
    assert "7006652" in observation.text, observation
    assert messages[-1].text == ANSWER, messages[-1]


def _inputs() -> dict[str, Any]:
    return {"messages": [HumanMessage(QUESTION)]}


async def _interleaved_async(graphs: dict[str, Any], rounds: int, warmup: int) -> dict[str, list[float]]:
    """Seconds per ``ainvoke`` round for each graph; the order alternates every round."""
    samples: dict[str, list[float]] = {name: [] for name in graphs}
    items = list(graphs.items())
    for round_ in range(warmup + rounds):
        for name, graph in items if round_ % 2 == 0 else items[::-1]:
            started = time.perf_counter()
            result = await graph.ainvoke(_inputs())
            elapsed = time.perf_counter() - started
            _check(result)
            if round_ >= warmup:
                samples[name].append(elapsed)
    return samples


def _interleaved_sync(graphs: dict[str, Any], rounds: int, warmup: int) -> dict[str, list[float]]:
    """Seconds per ``invoke`` round for each graph; the order alternates every round."""
    samples: dict[str, list[float]] = {name: [] for name in graphs}
    items = list(graphs.items())
    for round_ in range(warmup + rounds):
        for name, graph in items if round_ % 2 == 0 else items[::-1]:
            started = time.perf_counter()
            result = graph.invoke(_inputs())
            elapsed = time.perf_counter() - started
            _check(result)
            if round_ >= warmup:
                samples[name].append(elapsed)
    return samples


async def _mcp_call_alone(calculate_tool: BaseTool, rounds: int) -> list[float]:
    """Seconds per bare ``ainvoke`` of the MCP tool, for scale (the floor both graphs share)."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await calculate_tool.ainvoke({"expression": EXPRESSION})
        samples.append(time.perf_counter() - started)
    return samples


def _servers() -> dict[str, Any]:
    return {"utility": {**server_entry("utility"), "env": {"OMP_WAIT_POLICY": "PASSIVE"}}}


async def measure(mcp_rounds: int, plain_rounds: int, warmup: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with MCPToolkit(_servers(), call_timeout=60.0) as toolkit:
        mcp_tool = next(t for t in toolkit.tools if t.name == "calculate")
        results["mcp"] = await _interleaved_async(_graphs([mcp_tool]), mcp_rounds, warmup)
        results["mcp alone"] = await _mcp_call_alone(mcp_tool, mcp_rounds)
    results["plain async"] = await _interleaved_async(_graphs([calculate]), plain_rounds, warmup)
    results["plain sync"] = await asyncio.to_thread(_interleaved_sync, _graphs([calculate]), plain_rounds, warmup)
    return results


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.2f}"


def _p90(values: list[float]) -> str:
    return f"{statistics.quantiles(values, n=10)[-1] * 1000:.2f}"


def _paired_ratio(ours: list[float], theirs: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(ours, theirs, strict=True))


def render(results: dict[str, Any], hardware: str, mcp_rounds: int, plain_rounds: int, warmup: int) -> str:
    ours, theirs = "mcploom build_react_graph", "langchain create_agent"
    lines = [
        "## ReAct round: `build_react_graph` vs `langchain.agents.create_agent` (`benchmarks/react_overhead.py`)",
        "",
        f"Hardware: {hardware}. {versions()}. Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        'One round = fake model asks for `calculate("1234 * 5678")` -> tool runs -> fake model answers '
        f"({STEPS_PER_ROUND} graph steps). Same `ScriptedChatModel` script and same tool objects for both graphs, "
        f"graphs compiled once, {warmup} warm-up rounds, then rounds interleaved (order alternating).",
        "",
        "| case | rounds | mcploom median ms | create_agent median ms | ratio of medians | median paired ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    cases = [
        ("**with 1 MCP stdio call** (`ainvoke`)", "mcp", mcp_rounds),
        ("plain Python tool, `ainvoke`", "plain async", plain_rounds),
        ("plain Python tool, `invoke`", "plain sync", plain_rounds),
    ]
    for label, key, rounds in cases:
        a, b = results[key][ours], results[key][theirs]
        ratio = statistics.median(a) / statistics.median(b)
        goal = " (goal <= 1.0)" if key == "mcp" else ""
        lines.append(
            f"| {label} | {rounds} | {_ms(a)} (p90 {_p90(a)}) | {_ms(b)} (p90 {_p90(b)}) "
            f"| **{ratio:.3f}**{goal} | {_paired_ratio(a, b):.3f} |"
        )
    lines += [
        "",
        "Graph overhead per step (plain Python tool, median round / 3 steps):",
        "",
        "| graph | `invoke` ms/step | `ainvoke` ms/step |",
        "|---|---:|---:|",
    ]
    for name in (ours, theirs):
        sync = statistics.median(results["plain sync"][name]) / STEPS_PER_ROUND * 1000
        async_ = statistics.median(results["plain async"][name]) / STEPS_PER_ROUND * 1000
        lines.append(f"| {name} | {sync:.2f} | {async_:.2f} |")
    alone = results["mcp alone"]
    lines += [
        "",
        f"For scale: the bare MCP call (`calculate_tool.ainvoke`, same session, {len(alone)} calls) "
        f"has median {_ms(alone)} ms (p90 {_p90(alone)}).",
        "",
    ]
    return "\n".join(lines)


async def _amain(args: argparse.Namespace) -> str:
    machine = hardware()
    if args.quick:
        mcp_rounds, plain_rounds, warmup = 40, 100, 5
    else:
        mcp_rounds, plain_rounds, warmup = args.mcp_rounds, args.plain_rounds, 20
    results = await measure(mcp_rounds, plain_rounds, warmup)
    return render(results, machine, mcp_rounds, plain_rounds, warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="A short run (40 MCP rounds, 100 plain rounds).")
    parser.add_argument("--mcp-rounds", type=int, default=400, help="Measured rounds with MCP (default 400).")
    parser.add_argument("--plain-rounds", type=int, default=1000, help="Measured rounds, plain tool (default 1000).")
    parser.add_argument("--out", type=Path, help="Also write the markdown table to this file.")
    args = parser.parse_args()
    table = asyncio.run(_amain(args))
    if args.out:
        args.out.write_text(table)
    print(table)


if __name__ == "__main__":
    main()
