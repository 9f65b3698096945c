"""What a checkpointer adds to one ReAct round: none, in memory, SQLite default, SQLite tuned.

A round is a one-tool question on ``build_react_graph``: the scripted fake model of
``tests/fakes.py`` asks for ``calculate``, the plain Python tool runs, the model answers (three
graph steps; five checkpoints and four sets of task writes saved). Every round starts a new
thread, so the state saved stays small and the same size. Cases:

- *no checkpointer*: the baseline.
- *InMemorySaver*: LangGraph's default durability (``"async"``).
- *SQLite default*: ``AsyncSqliteSaver`` on a plain ``aiosqlite.connect`` (WAL, which its
  ``setup`` turns on, with SQLite's default ``synchronous=FULL``: an fsync per commit), for
  each durability mode.
- *SQLite tuned*: ``mcploom.agents.checkpoints.open_checkpointer`` (WAL + ``synchronous=NORMAL``), for
  each durability mode.
- *SQLite tuned, on the event loop* (an experiment, not shipped): LangGraph's sync
  ``SqliteSaver`` on the same settings, its methods called straight from the event loop as
  ``InMemorySaver`` does, to measure what ``AsyncSqliteSaver``'s worker-thread hops cost
  (``aiosqlite`` makes 3-4 per write, about 35 per round).

All cases run in one process, each graph compiled once, the order of cases rotating every round
so machine load hits them alike; medians are reported, and the cost per round is the case's
median minus the baseline's. The SQLite files live in a temporary folder on the same disk as
``data_home()`` (``--dir`` to choose another).

Run it with ``python -m benchmarks.checkpoint_cost [--quick] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, get_args

import aiosqlite
from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Durability

from benchmarks._common import ANSWER, calculate, hardware, scripted_round
from mcploom.agents.checkpoints import DURABILITY, open_checkpointer
from mcploom.graphs.react import build_react_graph
from mcploom.paths import data_home
from tests.fakes import ScriptedChatModel

BASELINE = "no checkpointer"


@asynccontextmanager
async def _default_sqlite(path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    """``AsyncSqliteSaver`` as its docs open it: no PRAGMAs of ours."""
    async with aiosqlite.connect(path) as conn:
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        yield saver


class _OnLoopSqliteSaver(SqliteSaver):
    """The sync ``SqliteSaver`` called from the event loop: no thread hops, but it blocks the loop."""

    async def aget_tuple(self, config: Any) -> Any:
        return self.get_tuple(config)

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        self.put_writes(config, writes, task_id, task_path)


def _on_loop_sqlite(path: Path) -> _OnLoopSqliteSaver:
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    return _OnLoopSqliteSaver(conn)


async def _cases(stack: AsyncExitStack, folder: Path) -> dict[str, tuple[Any, Durability | None]]:
    """Case name -> (compiled graph, durability); each graph has its own scripted model."""
    savers: dict[str, BaseCheckpointSaver | None] = {BASELINE: None, "InMemorySaver": InMemorySaver()}
    default = await stack.enter_async_context(_default_sqlite(folder / "default.sqlite"))
    tuned = await stack.enter_async_context(open_checkpointer(folder / "tuned.sqlite"))
    cases: dict[str, tuple[Any, Durability | None]] = {}
    for name, saver in savers.items():
        cases[name] = (_graph(saver), None)
    for label, saver in (("SQLite default", default), ("SQLite tuned", tuned)):
        for mode in get_args(Durability):
            cases[f"{label}, durability={mode}"] = (_graph(saver), mode)
    on_loop = _on_loop_sqlite(folder / "on-loop.sqlite")
    stack.callback(on_loop.conn.close)
    cases["SQLite tuned, on the event loop (experiment), durability=sync"] = (_graph(on_loop), "sync")
    return cases


def _graph(saver: BaseCheckpointSaver | None) -> Any:
    return build_react_graph(model=ScriptedChatModel(messages=scripted_round()), tools=[calculate], checkpointer=saver)


async def _round(graph: Any, durability: Durability | None, thread: str) -> float:
    config = {"configurable": {"thread_id": thread}}
    options = {} if durability is None else {"durability": durability}
    started = time.perf_counter()
    result = await graph.ainvoke({"messages": [HumanMessage("What is 1234 * 5678?")]}, config, **options)
    elapsed = time.perf_counter() - started
    assert isinstance(result["messages"][2], ToolMessage) and result["messages"][-1].text == ANSWER, result
    return elapsed


async def measure(rounds: int, warmup: int, folder: Path) -> dict[str, list[float]]:
    """Seconds per round for each case; the order of cases rotates every round."""
    async with AsyncExitStack() as stack:
        cases = await _cases(stack, folder)
        samples: dict[str, list[float]] = {name: [] for name in cases}
        items = list(cases.items())
        for round_ in range(warmup + rounds):
            shift = round_ % len(items)
            for name, (graph, durability) in items[shift:] + items[:shift]:
                elapsed = await _round(graph, durability, f"{name}-{round_}")
                if round_ >= warmup:
                    samples[name].append(elapsed)
    return samples


def render(samples: dict[str, list[float]], hardware: str, rounds: int, warmup: int, folder: Path) -> str:
    from importlib.metadata import version

    versions = ", ".join(
        f"{name} {version(name)}" for name in ("langgraph", "langgraph-checkpoint-sqlite", "aiosqlite")
    )
    base = statistics.median(samples[BASELINE])
    lines = [
        "## Checkpointer cost per ReAct round (`benchmarks/checkpoint_cost.py`)",
        "",
        f"Hardware: {hardware}; SQLite {aiosqlite.sqlite_version}, files in `{folder}`. "
        f"{versions}. Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "One round = fake model asks for `calculate` -> plain Python tool -> fake model answers (3 graph steps, "
        f"`ainvoke`, a new thread each round). {warmup} warm-up rounds, then {rounds} rounds with the order of "
        "cases rotating. *Added* = case median - no-checkpointer median.",
        "",
        "| case | median ms | p90 ms | added ms/round |",
        "|---|---:|---:|---:|",
    ]
    for name, values in samples.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        added = "" if name == BASELINE else f"{(median - base) * 1000:+.2f}"
        marker = "**" if name == f"SQLite tuned, durability={DURABILITY}" else ""
        lines.append(f"| {marker}{name}{marker} | {median * 1000:.2f} | {p90 * 1000:.2f} | {marker}{added}{marker} |")
    lines += ["", f"In bold: what mcploom uses (`open_checkpointer`, `DURABILITY = {DURABILITY!r}`).", ""]
    return "\n".join(lines)


async def _amain(args: argparse.Namespace) -> str:
    machine = hardware()
    rounds, warmup = (30, 3) if args.quick else (args.rounds, 10)
    parent = args.dir or data_home()
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="checkpoint-cost-", dir=parent) as folder:
        samples = await measure(rounds, warmup, Path(folder))
    return render(samples, machine, rounds, warmup, parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="A short run (30 rounds).")
    parser.add_argument("--rounds", type=int, default=200, help="Measured rounds per case (default 200).")
    parser.add_argument("--dir", type=Path, help="Where the SQLite files go (default: data_home()).")
    parser.add_argument("--out", type=Path, help="Also write the markdown table to this file.")
    args = parser.parse_args()
    table = asyncio.run(_amain(args))
    if args.out:
        args.out.write_text(table)
    print(table)


if __name__ == "__main__":
    main()
