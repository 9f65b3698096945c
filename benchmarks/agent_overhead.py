"""What ``Agent.arun`` adds on top of the ReAct graph it runs: the typed event stream (four stream
modes, subgraphs), the usage recorder, the trace sinks and the checkpointer.

One round = the scripted model asks for a plain Python ``calculate`` tool, the tool runs, the
model answers (three graph steps). Compared side by side, interleaved, medians:

- ``graph.ainvoke``: the compiled ReAct graph with an ``InMemorySaver``, no streaming;
- ``Agent.arun`` (memory): the same graph through the Agent, ``checkpointer="memory"``;
- ``Agent.arun`` (SQLite): the default checkpointer (a SQLite file, durability ``sync``).

Run it with ``python -m benchmarks.agent_overhead [--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from langchain_core.messages import HumanMessage  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402

from benchmarks._common import ANSWER, calculate, hardware, scripted_round, versions  # noqa: E402
from mcploom.agents.agent import Agent  # noqa: E402
from mcploom.graphs.react import build_react_graph  # noqa: E402
from tests.fakes import ScriptedChatModel  # noqa: E402


async def measure(rounds: int, warmup: int) -> dict[str, list[float]]:
    graph = build_react_graph(
        model=ScriptedChatModel(messages=scripted_round()), tools=[calculate], checkpointer=InMemorySaver()
    )
    folder = Path(tempfile.mkdtemp(prefix="mcploom-bench-"))
    memory = Agent(model=ScriptedChatModel(messages=scripted_round()), tools=[calculate], checkpointer="memory")
    sqlite = Agent(
        model=ScriptedChatModel(messages=scripted_round()), tools=[calculate], checkpointer=folder / "threads.sqlite"
    )
    async with memory, sqlite:

        async def raw(i: int) -> str:
            state = await graph.ainvoke(
                {"messages": [HumanMessage("1234*5678?")]}, {"configurable": {"thread_id": f"g{i}"}}
            )
            return state["messages"][-1].text

        async def through(agent: Agent, i: int) -> str:
            return (await agent.arun("1234*5678?", thread_id=f"a{i}")).answer

        cases: dict[str, Callable[[int], Awaitable[str]]] = {
            "graph.ainvoke (memory)": raw,
            "Agent.arun (memory)": lambda i: through(memory, i),
            "Agent.arun (SQLite default)": lambda i: through(sqlite, i),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        items = list(cases.items())
        for i in range(warmup + rounds):
            for name, case in items if i % 2 == 0 else items[::-1]:
                started = time.perf_counter()
                answer = await case(i)
                elapsed = time.perf_counter() - started
                assert answer == ANSWER, answer
                if i >= warmup:
                    samples[name].append(elapsed)
    return samples


def render(samples: dict[str, list[float]], rounds: int) -> str:
    base = statistics.median(samples["graph.ainvoke (memory)"])
    lines = [
        "## Agent overhead: `Agent.arun` vs the bare graph (`benchmarks/agent_overhead.py`)",
        "",
        f"Hardware: {hardware()}. {versions()}. Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"One ReAct round with a plain Python tool and a scripted model (3 graph steps), {rounds} rounds interleaved.",
        "",
        "| case | median ms | ratio to bare graph | added ms |",
        "|---|---:|---:|---:|",
    ]
    for name, values in samples.items():
        median = statistics.median(values)
        lines.append(f"| {name} | {median * 1000:.2f} | {median / base:.2f} | {(median - base) * 1000:+.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    print(render(asyncio.run(measure(args.rounds, args.warmup)), args.rounds))


if __name__ == "__main__":
    main()
