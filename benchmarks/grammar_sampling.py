"""Grammar-bound tool calls: llama-cpp-python's grammar sampler against mcploom's grammar-last one.

The tools are those an agent sees in ``benchmarks.agent_tasks`` (the utility, sql and rag servers
bound at once, listed over MCP); the questions are the first ``--per-family`` of each task family.
Each question is asked once per sampler on one ``ChatLlamaCpp`` (so one loaded ``Llama``), the
order alternating per question, from the same cached prompt prefix; the decoded tokens per second
of each reply and whether the two replies are the same are recorded. Stock is llama-cpp-python's
own chain, which tests the grammar on every token of the vocabulary; grammar-last
(``mcploom.local_models._grammar_last``) tests only the chosen token and samples again under the
grammar when it is refused.

Run it with ``python -m benchmarks.grammar_sampling [--per-family 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before llama.cpp starts its OpenMP threads

from langchain_core.messages import HumanMessage  # noqa: E402

from benchmarks._common import hardware  # noqa: E402
from benchmarks.agent_tasks import FAMILIES, build_shop, load_tasks, workspace  # noqa: E402
from mcploom.agents.mcp_client import MCPToolkit  # noqa: E402
from mcploom.local_models import ChatLlamaCpp, resolve_model  # noqa: E402
from mcploom.local_models._grammar_last import stock_sampler  # noqa: E402


def _call(model: ChatLlamaCpp, tools: list, question: str, stock: bool) -> tuple[float, int, str]:
    bound = model.bind_tools(tools)
    with stock_sampler(model._loaded().llama) if stock else nullcontext():
        bound.invoke([HumanMessage(question)], max_tokens=1)  # the prompt into the cache, untimed
        started = time.perf_counter()
        reply = bound.invoke([HumanMessage(question)])
        seconds = time.perf_counter() - started
    tokens = reply.usage_metadata["output_tokens"]
    return tokens / seconds, tokens, f"{reply.content}{reply.tool_calls and reply.tool_calls[0]['args']}"


async def _tools(servers: dict) -> list:
    async with MCPToolkit(servers) as toolkit:
        return toolkit.tools  # only their schemas are used, after the sessions close


def suite_sample(per_family: int) -> tuple[list[str], list]:
    """The first ``per_family`` questions of each agent-task family and the tools the agent sees."""
    with tempfile.TemporaryDirectory() as folder:
        build_shop(Path(folder) / "shop.db")
        tasks = load_tasks(Path(folder) / "shop.db")
    questions = [t.question for family in FAMILIES for t in [t for t in tasks if t.family == family][:per_family]]
    with workspace() as (servers, _):
        return questions, asyncio.run(_tools(servers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=2, help="Questions per task family (default 2).")
    options = parser.parse_args()
    questions, tools = suite_sample(options.per_family)
    model = ChatLlamaCpp(model_path=str(resolve_model()))
    speeds: dict[bool, list[float]] = {True: [], False: []}
    same = 0
    for index, question in enumerate(questions):
        replies = {}
        for stock in (True, False) if index % 2 == 0 else (False, True):
            rate, tokens, replies[stock] = _call(model, tools, question, stock)
            speeds[stock].append(rate)
            print(f"{'stock' if stock else 'last '} {rate:5.1f} tok/s {tokens:3d} tokens {question[:60]!r}", flush=True)
        same += replies[True] == replies[False]
    stock, last = statistics.median(speeds[True]), statistics.median(speeds[False])
    paired = statistics.median(b / a for a, b in zip(speeds[True], speeds[False], strict=True))
    print(f"\nHardware: {hardware()}; {len(tools)} tools, {len(questions)} questions\n")
    print("| sampler | median tok/s |\n|---|---:|")
    print(f"| llama-cpp-python grammar (stock) | {stock:.2f} |\n| grammar-last (mcploom) | {last:.2f} |")
    print(
        f"\nratio of medians {last / stock:.2f}, median paired ratio {paired:.2f}; same reply {same}/{len(questions)}"
    )


if __name__ == "__main__":
    main()
