"""A BFCL v4 subset: mcploom's ``ChatLlamaCpp`` (grammar-constrained calls) against stock
llama-cpp-python function calling (``chatml-function-calling``), on the same model, the same
sampled cases and BFCL's own AST checker.

Categories: simple (``simple_python``), multiple, parallel and irrelevance; ``--cases`` per
category (default 40) drawn with a fixed seed. A case is right when BFCL's checker accepts the
calls (for irrelevance: when no function is called). mcploom's protocol makes one call per model
turn, so parallel cases, which need several calls in one turn, can only pass with one call.

Needs BFCL's data and checker: ``pip install --no-deps bfcl-eval "tree-sitter==0.21.3"
"tree-sitter-java==0.21.0" "tree-sitter-javascript==0.21.4"`` (the checker imports the Java and
JavaScript parsers). Run it with ``python -m benchmarks.bfcl_subset [--cases 40] [--seed 0]
[--system ours|stock|both] [--category simple ...]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import re
import statistics
import sys
import time
import types
from importlib.resources import files
from typing import Any

from benchmarks._common import hardware

CATEGORIES = {
    "simple": "BFCL_v4_simple_python",
    "multiple": "BFCL_v4_multiple",
    "parallel": "BFCL_v4_parallel",
    "irrelevance": "BFCL_v4_irrelevance",
}
_TYPES = {"dict": "object", "float": "number", "tuple": "array", "list": "array", "int": "integer", "bool": "boolean"}
_CHECKER_MODEL = "mcploom"


def checker() -> Any:
    """BFCL's ``ast_checker``, imported without its model registry (which imports every provider SDK):
    the registry only says whether a model writes dotted names with underscores, and ours map back."""
    registry = types.ModuleType("bfcl_eval.constants.model_config")
    registry.MODEL_CONFIG_MAPPING = {_CHECKER_MODEL: types.SimpleNamespace(underscore_to_dot=False)}  # type: ignore[attr-defined]
    sys.modules.setdefault("bfcl_eval.constants.model_config", registry)
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    return ast_checker


def load(category: str, cases: int, seed: int) -> list[dict[str, Any]]:
    """``cases`` sampled cases of ``category`` with their ground truth (none for irrelevance)."""
    data = files("bfcl_eval") / "data"
    name = CATEGORIES[category]
    entries = [json.loads(line) for line in (data / f"{name}.json").read_text().splitlines() if line.strip()]
    answers: dict[str, Any] = {}
    if category != "irrelevance":
        for line in (data / "possible_answer" / f"{name}.json").read_text().splitlines():
            if line.strip():
                entry = json.loads(line)
                answers[entry["id"]] = entry["ground_truth"]
    picked = random.Random(seed).sample(entries, min(cases, len(entries)))
    return [{**entry, "ground_truth": answers.get(entry["id"])} for entry in picked]


def openai_tools(functions: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """BFCL's function docs as OpenAI tools (JSON Schema types, names chat APIs accept), and the name map back."""
    tools, names = [], {}
    for function in functions:
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", function["name"])[:64]
        names[safe] = function["name"]
        parameters = _schema(copy.deepcopy(function.get("parameters") or {"type": "object", "properties": {}}))
        tools.append(
            {
                "type": "function",
                "function": {"name": safe, "description": function.get("description", ""), "parameters": parameters},
            }
        )
    return tools, names


def _schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _schema(value) for key, value in node.items()}
    kind = out.get("type")
    if kind == "any":
        out.pop("type")
    elif isinstance(kind, str):
        out["type"] = _TYPES.get(kind, kind)
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("required", [])
    return out


def _messages(case: dict[str, Any]) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": m["content"]} for m in case["question"][0]]


def ours(model: Any, case: dict[str, Any]) -> list[dict[str, Any]]:
    """mcploom's calls for ``case`` as BFCL writes them: ``[{name: arguments}]``."""
    tools, names = openai_tools(case["function"])
    reply = model.bind_tools(tools).invoke([(m["role"], m["content"]) for m in _messages(case)])
    return [{names.get(call["name"], call["name"]): call["args"]} for call in reply.tool_calls]


def stock(llama: Any, case: dict[str, Any], max_tokens: int) -> list[dict[str, Any]]:
    """Stock llama-cpp-python's calls for ``case`` (``chatml-function-calling``, ``tool_choice="auto"``)."""
    tools, names = openai_tools(case["function"])
    answer = llama.create_chat_completion(
        messages=_messages(case), tools=tools, tool_choice="auto", temperature=0.0, max_tokens=max_tokens
    )
    calls = []
    for call in answer["choices"][0]["message"].get("tool_calls") or []:
        try:
            arguments = json.loads(call["function"]["arguments"])
        except json.JSONDecodeError:
            arguments = {"__unparsed__": call["function"]["arguments"]}
        calls.append({names.get(call["function"]["name"], call["function"]["name"]): arguments})
    return calls


def right(case: dict[str, Any], category: str, calls: list[dict[str, Any]], ast_checker: Any) -> bool:
    if category == "irrelevance":
        return not calls
    if not calls:
        return False
    from bfcl_eval.constants.enums import Language

    try:
        verdict = ast_checker(case["function"], calls, case["ground_truth"], Language.PYTHON, category, _CHECKER_MODEL)
    except Exception:  # noqa: BLE001 - a malformed output the checker cannot read is wrong
        return False
    return bool(verdict["valid"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40, help="Cases per category.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--system", choices=["ours", "stock", "both"], default="both")
    parser.add_argument("--category", action="append", choices=list(CATEGORIES))
    parser.add_argument("--max-tokens", type=int, default=256)
    options = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from llama_cpp import Llama

    from mcploom.local_models import ChatLlamaCpp, resolve_model

    path = str(resolve_model())
    ast_checker = checker()
    systems: dict[str, Any] = {}
    if options.system in ("ours", "both"):
        model = ChatLlamaCpp(model_path=path, max_tokens=options.max_tokens, seed=0)
        systems["mcploom ChatLlamaCpp"] = lambda case: ours(model, case)
    if options.system in ("stock", "both"):
        llama = Llama(model_path=path, chat_format="chatml-function-calling", n_ctx=8192, verbose=False, seed=0)
        systems["stock llama-cpp-python"] = lambda case: stock(llama, case, options.max_tokens)
    rows = []
    for category in options.category or list(CATEGORIES):
        cases = load(category, options.cases, options.seed)
        for label, system in systems.items():
            scores, seconds = [], []
            for case in cases:
                started = time.perf_counter()
                try:
                    calls = system(case)
                except Exception as exc:  # noqa: BLE001 - a failed generation is a wrong case
                    print(f"{label} {case['id']}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    calls = [{"__error__": str(exc)}]
                seconds.append(time.perf_counter() - started)
                scores.append(right(case, category, calls, ast_checker))
            rows.append(f"| {category} | {label} | {sum(scores)}/{len(scores)} | {statistics.median(seconds):.2f} |")
            print(rows[-1], file=sys.stderr, flush=True)
    print(f"Hardware: {hardware()}. Model: {os.path.basename(path)}; seed {options.seed}.\n")
    print("| category | system | right | median s/case |\n|---|---|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
