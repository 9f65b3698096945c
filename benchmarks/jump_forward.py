"""Tool calls decoded in parts (fixed text written, ``mcploom.local_models._decoding``) against one
generation under the whole call's grammar (how ``ChatLlamaCpp`` decoded before).

The tools are those an agent sees in ``benchmarks.agent_tasks`` (the utility, sql and rag servers
bound at once, listed over MCP); the questions are the first ``--per-family`` of each task family,
each rendered once into the prompt ``ChatLlamaCpp`` would send. Both sides use the grammar-last
sampler and greedy decoding on one loaded model; each reply starts from the prompt already
evaluated, the order alternating per question. Recorded: seconds per reply, tokens generated, and
whether the two replies are the same call (tool and arguments) or the same answer.

Run it with ``python -m benchmarks.jump_forward [--per-family 2] [--model SPEC]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before llama.cpp starts its OpenMP threads

from langchain_core.messages import HumanMessage  # noqa: E402
from langchain_core.utils.function_calling import convert_to_openai_tool  # noqa: E402

from benchmarks._common import hardware  # noqa: E402
from benchmarks.grammar_sampling import suite_sample  # noqa: E402
from mcploom.local_models import ChatLlamaCpp, resolve_model  # noqa: E402
from mcploom.local_models._decoding import Decoding, grammar  # noqa: E402
from mcploom.local_models.chat_model import _tagged, _template_tools, _to_chat_messages  # noqa: E402
from mcploom.local_models.tool_protocol import ToolProtocol  # noqa: E402


def _reply(model: ChatLlamaCpp, prompt: str, protocol: ToolProtocol, parts: bool) -> tuple[float, int, object]:
    loaded = model._loaded()
    stop = [loaded.eos_token]
    sampling = model._sampling({})
    loaded.llama.create_completion(prompt, max_tokens=1, temperature=0.0)  # the prompt into the cache, untimed
    started = time.perf_counter()
    if parts:
        tokens = loaded.llama.tokenize(prompt.encode(), add_bos=False, special=True)
        decoding = Decoding(loaded.llama, tokens, stop, sampling)
        for _ in decoding.call(protocol, max_call_tokens=model.max_call_tokens):
            pass
        text, tokens = decoding.output, decoding.generated
    else:
        out = loaded.llama.create_completion(prompt, grammar=grammar(protocol.grammar()), stop=stop, **sampling)
        text, tokens = out["choices"][0]["text"], out["usage"]["completion_tokens"]
    seconds = time.perf_counter() - started
    try:
        reply = protocol.parse(text)
    except ValueError as exc:
        reply = f"unreadable: {exc}"
    return seconds, tokens, reply


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=2, help="Questions per task family (default 2).")
    parser.add_argument("--model", default=None, help="Catalog model name (default: the bundled model).")
    options = parser.parse_args()
    questions, mcp_tools = suite_sample(options.per_family)
    tools = [convert_to_openai_tool(tool) for tool in mcp_tools]
    model = ChatLlamaCpp(model_path=str(resolve_model(options.model)))
    loaded = model._loaded()
    protocol = ToolProtocol.build(tools, "auto", tagged=_tagged(loaded))
    seconds: dict[bool, list[float]] = {False: [], True: []}
    same = 0
    for index, question in enumerate(questions):
        messages = _to_chat_messages([HumanMessage(question)], protocol, loaded)
        prompt = loaded.render(messages, _template_tools(protocol, loaded))
        replies = {}
        for parts in (False, True) if index % 2 == 0 else (True, False):
            took, tokens, replies[parts] = _reply(model, prompt, protocol, parts)
            seconds[parts].append(took)
            label = "parts" if parts else "whole"
            print(f"{label} {took:5.2f} s {tokens:3d} tokens {question[:50]!r} {replies[parts]}", flush=True)
        same += replies[False] == replies[True]
    whole, parts = statistics.median(seconds[False]), statistics.median(seconds[True])
    paired = statistics.median(b / a for a, b in zip(seconds[False], seconds[True], strict=True))
    print(f"\nHardware: {hardware()}; {len(tools)} tools, {len(questions)} questions, {Path(model.model_path).name}\n")
    print("| decoding | median s per reply |\n|---|---:|")
    print(f"| whole call under one grammar | {whole:.2f} |\n| in parts, fixed text written (mcploom) | {parts:.2f} |")
    print(
        f"\nratio of medians (parts / whole): {parts / whole:.2f}; median paired ratio: {paired:.2f}; "
        f"same reply: {same}/{len(questions)}"
    )


if __name__ == "__main__":
    main()
