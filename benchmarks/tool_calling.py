"""Tool-call routing and validity of local models on 24 varied requests over 8 tools.

Each case is a user request and the tool it should call (or ``None``: answer directly). A
reply counts as *valid* when it is an answer, or a call of a bound tool whose arguments
validate against that tool's JSON schema; *right* when it picks the expected tool (or answers
when none fits).

Run: ``python -m benchmarks.tool_calling [catalog-name ...]`` (default: every installed
catalog model). The test suite runs the same cases on the default model.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from typing import Literal

import jsonschema
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool, tool
from langchain_core.utils.function_calling import convert_to_openai_tool


@tool
def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression exactly."""
    raise NotImplementedError


@tool
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Get the current weather for a city."""
    raise NotImplementedError


@tool
def search_docs(query: str, k: int = 5) -> str:
    """Search the user's own documents and notes for passages about a topic."""
    raise NotImplementedError


@tool
def send_email(to: str, subject: str, body: str) -> str:
    """Send an email to one recipient."""
    raise NotImplementedError


@tool
def create_event(title: str, date: str, duration_minutes: int = 60) -> str:
    """Add an event to the user's calendar. date is ISO 8601, e.g. 2026-03-01T09:30."""
    raise NotImplementedError


@tool
def convert_currency(amount: float, from_currency: str, to_currency: str) -> str:
    """Convert an amount of money between currencies at today's rate (ISO codes like USD, EUR)."""
    raise NotImplementedError


@tool
def translate(text: str, target_language: Literal["French", "German", "Spanish", "Japanese"]) -> str:
    """Translate text into another language."""
    raise NotImplementedError


@tool
def query_database(sql: str) -> str:
    """Run a read-only SQL query on the company sales database (tables: orders, customers)."""
    raise NotImplementedError


TOOLS: list[BaseTool] = [
    calculate,
    get_weather,
    search_docs,
    send_email,
    create_event,
    convert_currency,
    translate,
    query_database,
]

CASES: list[tuple[str, str | None]] = [
    ("What is 1234 * 5678? Use the calculator.", "calculate"),
    ("How much is 17% of 2450?", "calculate"),
    ("Compute (3.5 + 2.25) * 12.", "calculate"),
    ("What's the weather in Paris right now?", "get_weather"),
    ("Is it raining in Tokyo? Give me Fahrenheit.", "get_weather"),
    ("Find passages in my notes about RAG chunking.", "search_docs"),
    ("What did my documents say about the Q3 roadmap?", "search_docs"),
    ("Email bob@example.com that the meeting moved to 3pm.", "send_email"),
    ("Send an email to alice@example.com with subject 'Invoice' saying it is attached.", "send_email"),
    ("Put 'Dentist' in my calendar on 2026-03-04 at 10:00 for 30 minutes.", "create_event"),
    ("Schedule a team sync tomorrow, 2026-12-01T09:00.", "create_event"),
    ("Convert 250 US dollars to euros.", "convert_currency"),
    ("How many yen is 99.5 GBP?", "convert_currency"),
    ("Translate 'good morning, friends' into German.", "translate"),
    ("How do you say 'thank you very much' in Japanese?", "translate"),
    ("How many orders did we get last month? Check the sales database.", "query_database"),
    ("List the top 5 customers by total order value from the database.", "query_database"),
    ("Hi! How are you today?", None),
    ("What is the capital of France?", None),
    ("Write a haiku about the sea.", None),
    ("Thanks, that's all I needed.", None),
    ("Who wrote 'Pride and Prejudice'?", None),
    ("Explain in one sentence what a hash map is.", None),
    ("Tell me a short joke about programmers.", None),
]


@dataclass(frozen=True)
class Outcome:
    """One case's result."""

    prompt: str
    expected: str | None
    chosen: str | None
    valid: bool
    seconds: float
    detail: str

    @property
    def right(self) -> bool:
        return self.valid and self.chosen == self.expected


def run_cases(model: BaseChatModel, cases: list[tuple[str, str | None]] = CASES) -> list[Outcome]:
    """Ask ``model`` (tools bound with ``tool_choice='auto'``) every case and check each reply."""
    schemas = {t.name: convert_to_openai_tool(t)["function"]["parameters"] for t in TOOLS}
    bound = model.bind_tools(TOOLS)
    outcomes = []
    for prompt, expected in cases:
        started = time.perf_counter()
        reply = bound.invoke(prompt)
        seconds = time.perf_counter() - started
        if reply.invalid_tool_calls or len(reply.tool_calls) > 1:
            outcomes.append(Outcome(prompt, expected, None, False, seconds, repr(reply.invalid_tool_calls)))
            continue
        if not reply.tool_calls:
            outcomes.append(Outcome(prompt, expected, None, bool(reply.content), seconds, str(reply.content)[:80]))
            continue
        call = reply.tool_calls[0]
        try:
            jsonschema.validate(call["args"], schemas[call["name"]])
            valid = True
        except (KeyError, jsonschema.ValidationError):
            valid = False
        outcomes.append(Outcome(prompt, expected, call["name"], valid, seconds, str(call["args"])[:80]))
    return outcomes


def main(names: list[str]) -> None:
    from mcploom.local_models import CATALOG, ChatLlamaCpp, ModelLoadError, resolve_model

    print("| model | valid | right tool | no-tool cases right | median s/case |")
    print("|---|---|---|---|---|")
    for name in names or list(CATALOG):
        try:
            path = resolve_model(name)
        except ModelLoadError as exc:
            print(f"| {name} | skipped: {exc} | | | |")
            continue
        outcomes = run_cases(ChatLlamaCpp(model_path=str(path), seed=0))
        for o in outcomes:
            print(f"<!-- {name}: {'ok ' if o.right else 'BAD'} want={o.expected} got={o.chosen} {o.detail!r} -->")
        no_tool = [o for o in outcomes if o.expected is None]
        print(
            f"| {name} | {sum(o.valid for o in outcomes)}/{len(outcomes)} | {sum(o.right for o in outcomes)}/{len(outcomes)}"
            f" | {sum(o.right for o in no_tool)}/{len(no_tool)} | {statistics.median(o.seconds for o in outcomes):.2f} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
