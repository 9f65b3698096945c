"""Token usage and cost: a UsageRecorder inside real LangGraph runs, and the price table."""

from __future__ import annotations

import doctest
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.tools import tool

import mcploom.agents.usage
from mcploom.agents.errors import ConfigError
from mcploom.agents.events import ModelUsage
from mcploom.agents.usage import Price, PriceTable, UsageRecorder
from mcploom.graphs.plan_execute import Plan, Replan, build_plan_execute_graph
from mcploom.graphs.react import build_react_graph
from tests.fakes import ScriptedChatModel, structured, tool_call

PRICES = PriceTable(
    {
        "claude-sonnet-4-5": Price(input=3.0, output=15.0),
        "gpt-4o": Price(input=2.5, output=10.0),
        "gpt-4o-mini": Price(input=0.15, output=0.6),
    }
)


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def used(message: AIMessage, tokens_in: int, tokens_out: int, model: str | None = None) -> AIMessage:
    """``message`` as a provider returns it: with token usage and, when given, the answering model."""
    usage = {"input_tokens": tokens_in, "output_tokens": tokens_out, "total_tokens": tokens_in + tokens_out}
    meta = {"model_name": model} if model else {}
    return message.model_copy(update={"usage_metadata": usage, "response_metadata": meta})


def react_script(model: str | None = "claude-sonnet-4-5-20250929") -> list[AIMessage]:
    return [used(tool_call("add", a=2, b=3), 1000, 20, model), used(AIMessage("5"), 1100, 2, model)]


class NamedModel(ScriptedChatModel):
    """A scripted model with a ``model`` setting, as ChatOpenAI and ChatAnthropic have."""

    model: str = "gpt-4o-mini"


class ChatLlamaCpp(ScriptedChatModel):
    """Stands in for local_models.ChatLlamaCpp: recognised as local by its class name."""

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": "/models/qwen2.5-coder-0.5b-q4_k_m.gguf"}


def test_sync_react_run_records_every_model_call_with_its_cost():
    recorder = UsageRecorder(PRICES)
    graph = build_react_graph(model=ScriptedChatModel.script(react_script()), tools=[add])
    graph.invoke({"messages": [HumanMessage("2+3?")]}, {"callbacks": [recorder]})
    model = "claude-sonnet-4-5-20250929"
    assert recorder.calls == [
        ModelUsage(model, 1000, 20, (1000 * 3.0 + 20 * 15.0) / 1e6),
        ModelUsage(model, 1100, 2, (1100 * 3.0 + 2 * 15.0) / 1e6),
    ]
    assert recorder.totals() == {"input_tokens": 2100, "output_tokens": 22, "total_tokens": 2122}
    assert recorder.cost() == pytest.approx((2100 * 3.0 + 22 * 15.0) / 1e6)


async def test_async_streamed_run_names_the_model_from_its_settings_and_drains_as_it_goes():
    recorder = UsageRecorder(PRICES)
    graph = build_react_graph(model=NamedModel.script(react_script(model=None)), tools=[add])
    drained: list[list[ModelUsage]] = []
    async for _ in graph.astream(
        {"messages": [HumanMessage("2+3?")]}, {"callbacks": [recorder]}, stream_mode=["messages", "updates"]
    ):
        drained.append(recorder.drain())
    # Streamed chunks carry no response metadata: the name comes from the model's settings.
    assert [c.model for c in recorder.calls] == ["gpt-4o-mini", "gpt-4o-mini"]
    assert [c for batch in drained for c in batch] == recorder.calls
    assert recorder.drain() == []
    assert recorder.cost() == pytest.approx((2100 * 0.15 + 22 * 0.6) / 1e6)


def test_structured_output_calls_in_a_nested_graph_are_counted():
    steps = [{"id": 1, "task": "Add 2 and 3", "depends_on": []}]
    script = [
        used(structured(Plan, steps=steps), 500, 40, "gpt-4o-2024-08-06"),  # planner
        *react_script(model="gpt-4o-2024-08-06"),  # the step's executor subgraph
        used(structured(Replan, action="finish", steps=[]), 600, 10, "gpt-4o-2024-08-06"),
        used(AIMessage("2 + 3 = 5."), 700, 8, "gpt-4o-2024-08-06"),  # synthesizer
    ]
    recorder = UsageRecorder(PRICES)
    graph = build_plan_execute_graph(model=ScriptedChatModel.script(script), tools=[add])
    result = graph.invoke({"messages": [HumanMessage("What is 2+3?")]}, {"callbacks": [recorder]})
    assert result["messages"][-1].content == "2 + 3 = 5."
    assert [(c.input_tokens, c.output_tokens) for c in recorder.calls] == [
        (500, 40),
        (1000, 20),
        (1100, 2),
        (600, 10),
        (700, 8),
    ]
    assert recorder.totals()["total_tokens"] == 3980
    assert recorder.cost() == pytest.approx((3900 * 2.5 + 80 * 10.0) / 1e6)


def test_local_model_costs_nothing_and_is_named_after_its_file():
    recorder = UsageRecorder(PRICES)
    graph = build_react_graph(model=ChatLlamaCpp.script(react_script(model=None)), tools=[add])
    graph.invoke({"messages": [HumanMessage("2+3?")]}, {"callbacks": [recorder]})
    assert recorder.calls == [
        ModelUsage("qwen2.5-coder-0.5b-q4_k_m", 1000, 20, 0.0),
        ModelUsage("qwen2.5-coder-0.5b-q4_k_m", 1100, 2, 0.0),
    ]
    assert recorder.cost() == 0.0


def test_unknown_price_or_missing_usage_makes_the_total_cost_unknown():
    recorder = UsageRecorder(PRICES)
    script = [used(tool_call("add", a=2, b=3), 10, 5, "mystery-model"), AIMessage("5")]  # the last reports no usage
    graph = build_react_graph(model=ScriptedChatModel.script(script), tools=[add])
    graph.invoke({"messages": [HumanMessage("2+3?")]}, {"callbacks": [recorder]})
    assert recorder.calls == [ModelUsage("mystery-model", 10, 5, None), ModelUsage("ScriptedChatModel", 0, 0, None)]
    assert recorder.cost() is None
    assert UsageRecorder(PRICES).cost() == 0.0  # no calls, nothing spent


def test_calls_ending_on_many_threads_are_all_recorded():
    recorder = UsageRecorder(PRICES)
    reply = LLMResult(generations=[[ChatGeneration(message=used(AIMessage("ok"), 3, 1, "gpt-4o"))]])

    def call(_: int) -> None:
        run_id = uuid.uuid4()
        recorder.on_chat_model_start({"id": ["NamedModel"]}, [[]], run_id=run_id)
        recorder.on_llm_end(reply, run_id=run_id)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(call, range(800)))
    assert recorder.totals() == {"input_tokens": 2400, "output_tokens": 800, "total_tokens": 3200}
    assert len(recorder.drain()) == 800 and recorder._started == {}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o", 2.5),  # exact
        ("GPT-4o", 2.5),  # case-insensitive
        ("gpt-4o-2024-08-06", 2.5),  # dated snapshot
        ("gpt-4o-mini-2024-07-18", 0.15),  # the longest prefix wins
        ("claude-sonnet-4-5-20250929", 3.0),
        ("claude-sonnet-4-5@20250929", 3.0),  # Vertex AI's form
        ("claude-sonnet-4-5-latest", 3.0),
        ("gpt-4o-audio-preview", None),  # a prefix, but not a snapshot of it: a different model
        ("claude-sonnet-4", None),
        ("llama3", None),
    ],
)
def test_price_matching(model: str, expected: float | None):
    price = PRICES.price(model)
    assert (price.input if price else None) == expected


def test_cost_is_dollars_per_million_tokens():
    assert PRICES.cost("claude-sonnet-4-5", 2_000_000, 1_000_000) == pytest.approx(21.0)
    assert PRICES.cost("llama3", 10, 10) is None


def test_default_table_ships_with_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv("MCPLOOM_HOME", str(tmp_path))  # no user file there
    prices = PriceTable.load()
    assert prices.price("claude-sonnet-4-5-20250929") == Price(3.0, 15.0)
    assert prices.price("gpt-4o-mini") == Price(0.15, 0.6)


def test_user_file_overrides_and_extends_the_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("MCPLOOM_HOME", str(tmp_path))
    (tmp_path / "prices.toml").write_text(
        '"gpt-4o" = { input = 1.0, output = 2.0 }\n"qwen2.5" = { input = 0, output = 0 }\n', encoding="utf-8"
    )
    prices = PriceTable.load()
    assert prices.price("gpt-4o") == Price(1.0, 2.0)
    assert prices.cost("qwen2.5", 1000, 1000) == 0.0
    assert prices.price("claude-haiku-4-5") == Price(1.0, 5.0)  # defaults stay
    assert UsageRecorder().prices.price("qwen2.5") == Price(0.0, 0.0)  # the recorder's default table


def test_explicit_price_file_must_exist(tmp_path):
    with pytest.raises(ConfigError, match=r"no such price file"):
        PriceTable.load(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"gpt-4o" = { input = 1.0, output = ', r"not valid TOML .*\"claude-sonnet-4-5\" = \{ input = 3\.0"),
        ('"gpt-4o" = "2.5 dollars"', r"key 'gpt-4o': expected a table of prices, got '2\.5 dollars'"),
        (
            '"gpt-4o" = { input = 2.5 }',
            r"key 'gpt-4o': expected exactly the keys 'input' and 'output', got \['input'\]",
        ),
        ('"gpt-4o" = { input = -1, output = 10 }', r"key 'gpt-4o': input must be a number of dollars .*got -1"),
        ('"gpt-4o" = { input = 2.5, output = "10" }', r"key 'gpt-4o': output must be a number"),
        ("gpt-4.1 = { input = 2, output = 8 }", r"key 'gpt-4': .*got \['1'\].*Quote model names that contain dots"),
    ],
)
def test_a_bad_price_file_says_where_and_how_to_fix_it(tmp_path, text: str, expected: str):
    path = tmp_path / "prices.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected) as info:
        PriceTable.load(path)
    assert str(info.value).startswith(f"At {path}")
    assert "Write it as" in str(info.value) or "Write one line per model" in str(info.value)


def test_docstring_examples():
    assert doctest.testmod(mcploom.agents.usage).failed == 0
