"""Per-step overhead of each agent graph with a scripted model and a trivial tool.

Each scenario runs one graph end to end on a scripted model (``tests.fakes.ScriptedChatModel``:
no inference) and one trivial ``add`` tool. For every scenario the script is replayed ``--runs``
times (after warm-up), the scenarios interleaved round by round so machine load hits them alike,
sync (``invoke``) and async (``ainvoke``).

- *median run µs*: one whole run.
- *steps*: node executions per run, nested ones included (the ReAct subgraphs' ``agent`` and
  ``tools`` nodes), counted from ``stream(..., subgraphs=True)``.
- *own µs/step*: ``(median run - model calls x bare model call - structured calls x bare
  structured call - tool calls x bare tool call) / steps``: what the graph machinery (LangGraph's
  Pregel loop, our nodes, routers, state reducers) adds per step, beyond the model and tool
  invocations themselves, each measured alone in the same process.

Run it with ``python benchmarks/graph_overhead.py [--runs 200]``; the table goes to
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import langchain_core  # noqa: E402
import langgraph.version  # noqa: E402
from langchain_core.messages import AIMessage, HumanMessage  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from langgraph.graph.state import CompiledStateGraph  # noqa: E402

from mcploom.graphs.plan_execute import Plan, Replan, build_plan_execute_graph  # noqa: E402
from mcploom.graphs.react import build_react_graph  # noqa: E402
from mcploom.graphs.reflection import Critique, build_reflection_graph  # noqa: E402
from mcploom.graphs.supervisor import Worker, build_supervisor_graph  # noqa: E402
from tests.fakes import ScriptedChatModel, structured, tool_call  # noqa: E402


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


SCHEMAS = {"Plan", "Replan", "Critique", "Route"}
"""Tool names that are structured-output schemas, not tools."""


@dataclass
class Scenario:
    """One graph and the script that drives it through a typical run."""

    name: str
    model: ScriptedChatModel
    graph: CompiledStateGraph
    script: list[AIMessage | str]
    tool_calls: int

    @property
    def structured_calls(self) -> int:
        return sum(
            1 for r in self.script if isinstance(r, AIMessage) and r.tool_calls and r.tool_calls[0]["name"] in SCHEMAS
        )

    @property
    def model_calls(self) -> int:
        return len(self.script) - self.structured_calls

    def reset(self) -> dict[str, Any]:
        self.model.messages = iter([AIMessage(r) if isinstance(r, str) else r for r in self.script])
        self.model.seen.clear()
        return {"messages": [HumanMessage("What is 1 + 2?")]}


def _steps(plan: list[tuple[int, list[int]]]) -> list[dict[str, Any]]:
    return [{"id": i, "task": f"step {i}", "depends_on": d} for i, d in plan]


def scenarios() -> list[Scenario]:
    add_call = tool_call("add", a=1, b=2)
    built: list[Scenario] = []

    def make(name: str, build: Callable[[ScriptedChatModel], CompiledStateGraph], script: list, tools: int) -> None:
        model = ScriptedChatModel.script([])
        built.append(Scenario(name, model, build(model), script, tools))

    make("react (1 tool round)", lambda m: build_react_graph(model=m, tools=[add]), [add_call, "3"], 1)
    make(
        "plan_execute (2 sequential steps)",
        lambda m: build_plan_execute_graph(model=m, tools=[add]),
        [
            structured(Plan, steps=_steps([(1, []), (2, [1])])),
            add_call,
            "3",
            structured(Replan, action="continue"),
            add_call,
            "3",
            structured(Replan, action="finish"),
            "3",
        ],
        2,
    )
    make(
        "plan_execute (2 parallel steps)",
        lambda m: build_plan_execute_graph(model=m, tools=[add]),
        [structured(Plan, steps=_steps([(1, []), (2, [])])), "3", "3", structured(Replan, action="finish"), "3"],
        0,
    )
    make(
        "reflection (2 rounds, tool fact check)",
        lambda m: build_reflection_graph(model=m, tools=[add]),
        [
            "draft",
            add_call,
            "checked",
            structured(Critique, score=3, feedback="fix it"),
            "draft 2",
            add_call,
            "checked",
            structured(Critique, score=9, feedback=""),
        ],
        2,
    )
    make(
        "supervisor (1 handoff)",
        lambda m: build_supervisor_graph(model=m, workers=[Worker("calc", "Adds.", "You add.", [add])]),
        [
            structured("Route", answered=False, next="calc", instruction="add 1 and 2"),
            add_call,
            "3",
            structured("Route", answered=True, next="FINISH"),
            "3",
        ],
        1,
    )
    return built


def count_steps(scenario: Scenario) -> int:
    return sum(1 for _ in scenario.graph.stream(scenario.reset(), stream_mode="updates", subgraphs=True))


def time_sync(scenario: Scenario) -> float:
    state = scenario.reset()
    started = time.perf_counter()
    scenario.graph.invoke(state)
    return (time.perf_counter() - started) * 1e6


async def time_async(scenario: Scenario) -> float:
    state = scenario.reset()
    started = time.perf_counter()
    await scenario.graph.ainvoke(state)
    return (time.perf_counter() - started) * 1e6


def baselines(runs: int) -> dict[str, float]:
    """Median µs of one bare scripted model call, structured call and tool call."""
    model = ScriptedChatModel.script([])
    parse = model.with_structured_output(Critique)
    reply, graded = tool_call("add", a=1, b=2), structured(Critique, score=9, feedback="")
    samples: dict[str, list[float]] = {"model": [], "structured": [], "tool": []}
    for _ in range(runs):
        for key, call, script in (
            ("model", lambda: model.invoke([HumanMessage("q")]), reply),
            ("structured", lambda: parse.invoke([HumanMessage("q")]), graded),
            ("tool", lambda: add.invoke({"a": 1, "b": 2}), None),
        ):
            model.messages = iter([script] if script else [])
            started = time.perf_counter()
            call()
            samples[key].append((time.perf_counter() - started) * 1e6)
    return {key: statistics.median(values) for key, values in samples.items()}


def measure(runs: int, warmup: int) -> tuple[list[dict[str, Any]], dict[str, float]]:
    built = scenarios()
    steps = {s.name: count_steps(s) for s in built}
    sync: dict[str, list[float]] = {s.name: [] for s in built}
    asyn: dict[str, list[float]] = {s.name: [] for s in built}
    loop = asyncio.new_event_loop()
    for round_ in range(warmup + runs):
        for scenario in built if round_ % 2 == 0 else reversed(built):
            sync_us, async_us = time_sync(scenario), loop.run_until_complete(time_async(scenario))
            if round_ >= warmup:
                sync[scenario.name].append(sync_us)
                asyn[scenario.name].append(async_us)
    loop.close()
    base = baselines(max(runs, 200))
    rows = []
    for s in built:
        inner = s.model_calls * base["model"] + s.structured_calls * base["structured"] + s.tool_calls * base["tool"]
        row: dict[str, Any] = {
            "name": s.name,
            "steps": steps[s.name],
            "model": s.model_calls,
            "structured": s.structured_calls,
            "tools": s.tool_calls,
        }
        for mode, samples in (("sync", sync[s.name]), ("async", asyn[s.name])):
            median = statistics.median(samples)
            row[f"{mode}_run"] = median
            row[f"{mode}_step"] = (median - inner) / steps[s.name]
        rows.append(row)
    return rows, base


def table(rows: list[dict[str, Any]], base: dict[str, float], runs: int, warmup: int) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        "## Graph overhead per step (`benchmarks/graph_overhead.py`)",
        "",
        f"Hardware: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (load average at end: {load}); "
        f"Python {platform.python_version()}, langgraph {langgraph.version.__version__}, "
        f"langchain-core {langchain_core.__version__}, {platform.system()}. "
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Scripted model (no inference), one trivial `add` tool, no checkpointer; {runs} runs per scenario and mode "
        f"after {warmup} warm-up runs, scenarios interleaved; medians.",
        "",
        "| scenario | steps | model / structured / tool calls | sync run µs | sync own µs/step | async run µs "
        "| async own µs/step | own µs/step vs react (sync / async) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    react = rows[0]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['steps']} | {r['model']} / {r['structured']} / {r['tools']} | "
            f"{r['sync_run']:.0f} | **{r['sync_step']:.0f}** | {r['async_run']:.0f} | **{r['async_step']:.0f}** | "
            f"{r['sync_step'] / react['sync_step']:.2f} / {r['async_step'] / react['async_step']:.2f} |"
        )
    lines += [
        "",
        f"Bare calls measured alone (median µs): scripted model {base['model']:.0f}, "
        f"structured output (`with_structured_output(schema)`) {base['structured']:.0f}, "
        f"tool {base['tool']:.0f}.",
        "",
        "*steps* counts node executions including the nested ReAct subgraphs' nodes; *own µs/step* is the "
        "run minus the bare model, structured and tool calls it makes, divided by the steps. The ratio to "
        "react is the robust figure on a shared machine: absolute numbers move with the load.",
        "",
        "Measured while choosing: `with_structured_output(schema, include_raw=True)` cost 3.1 ms a call against "
        "0.5 ms without it (its `RunnableMap` runs in a thread pool), so `graphs/_shared.StructuredCaller` uses "
        "the plain form and catches the parse errors it raises.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="Timed runs per scenario and mode.")
    parser.add_argument("--warmup", type=int, default=20, help="Untimed runs first.")
    parser.add_argument("--out", type=Path, help="Also write the markdown table to this file.")
    args = parser.parse_args()
    rows, base = measure(args.runs, args.warmup)
    text = table(rows, base, args.runs, args.warmup)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
