"""ChatLlamaCpp on the bundled default model: constrained tool calls, streaming, structured output."""

from __future__ import annotations

import jsonschema
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, Field

from benchmarks.tool_calling import CASES, TOOLS, run_cases

pytestmark = pytest.mark.local_model


@pytest.fixture(scope="module")
def model(default_model_path):
    from mcploom.local_models import ChatLlamaCpp

    return ChatLlamaCpp(model_path=default_model_path, max_tokens=96, seed=0)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # 24 generations: ~2 min idle, far more when the 2 cores are shared
def test_tool_calls_are_always_schema_valid_and_usually_right(model):
    outcomes = run_cases(model)
    invalid = [o for o in outcomes if not o.valid]
    assert invalid == [], f"invalid replies: {invalid}"
    right = sum(o.right for o in outcomes)
    print(f"\nright tool on {right}/{len(CASES)} cases")
    # Measured 20/24 on Qwen2.5-Coder-0.5B (benchmarks/README.md); the bar leaves room for noise.
    assert right >= 18, [o for o in outcomes if not o.right]


def test_stream_yields_answer_text_piece_by_piece(model):
    chunks = list(model.bind_tools(TOOLS).stream("Write one short sentence about the sea."))
    text_chunks = [c for c in chunks if isinstance(c, AIMessageChunk) and c.content]
    assert len(text_chunks) >= 3
    merged = sum(chunks[1:], chunks[0])
    assert merged.tool_calls == [] and merged.content == "".join(c.content for c in text_chunks)
    assert merged.usage_metadata["output_tokens"] > 0 and merged.usage_metadata["input_tokens"] > 50


def test_stream_of_a_tool_call_ends_with_the_parsed_call(model):
    chunks = list(model.bind_tools(TOOLS).stream("What is 1234 * 5678? Use the calculator."))
    merged = sum(chunks[1:], chunks[0])
    assert [c["name"] for c in merged.tool_calls] == ["calculate"]
    assert merged.content == ""


def test_forced_tool_choice_calls_that_tool(model):
    reply = model.bind_tools(TOOLS, tool_choice="get_weather").invoke("Tell me about Lyon.")
    assert reply.tool_calls[0]["name"] == "get_weather"
    jsonschema.validate(reply.tool_calls[0]["args"], {"type": "object", "required": ["city"]})


def test_a_call_running_past_max_call_tokens_is_stopped_and_reported(model):
    # The name is written (the only tool allowed), the city's value takes ~4 generated tokens.
    short = model.model_copy(update={"max_call_tokens": 3})
    reply = short.bind_tools(TOOLS, tool_choice="get_weather").invoke("Tell me about Lyon.")
    assert reply.tool_calls == []
    [call] = reply.invalid_tool_calls
    assert call["name"] == "get_weather" and "ran past 3 tokens" in call["error"]
    assert reply.usage_metadata["output_tokens"] == 3


def test_text_asked_for_after_tool_calls_is_an_answer_not_a_call_written_out(model):
    # The last turn of a spent tool budget: no tools bound, the conversation holds calls and results.
    messages = [
        HumanMessage("How many rows does the items table have?"),
        AIMessage("", tool_calls=[{"name": "query", "args": {"sql": "SELECT count(*) FROM items"}, "id": "c1"}]),
        ToolMessage('{"columns": ["count(*)"], "rows": [[3]]}', tool_call_id="c1"),
        AIMessage("", tool_calls=[{"name": "list_tables", "args": {}, "id": "c2"}]),
        ToolMessage('{"tables": [{"name": "items", "type": "table"}]}', tool_call_id="c2"),
        SystemMessage("You have used all your tool calls. Answer the user now with what you already know."),
    ]
    reply = model.invoke(messages)
    assert reply.tool_calls == [] and reply.content.strip()
    assert not reply.content.lstrip().startswith(("{", "<", "`", "["))


def test_answers_from_a_tool_result_instead_of_repeating_the_call(model):
    messages = [
        SystemMessage("You are a helpful assistant. Use the tools when they help, and answer from their results."),
        HumanMessage("What is 1234 * 5678? Use the calculator."),
        AIMessage("", tool_calls=[{"name": "calculate", "args": {"expression": "1234 * 5678"}, "id": "c1"}]),
        ToolMessage('{"expression": "1234 * 5678", "result": 7006652}', tool_call_id="c1"),
    ]
    reply = model.bind_tools(TOOLS).invoke(messages)
    assert reply.tool_calls == []
    assert "7006652" in reply.content.replace(",", "")


CONVERT_TIME = {
    "type": "function",
    "function": {
        "name": "convert_time",
        "description": "Convert a date and time from one time zone to another; gives the date, time and weekday.",
        "parameters": {
            "type": "object",
            "properties": {
                "time": {"type": "string", "description": "The date and time as YYYY-MM-DDTHH:MM."},
                "from_timezone": {"type": "string", "description": "Zone the time is in."},
                "to_timezone": {"type": "string", "description": "Zone to give the time in."},
            },
            "required": ["time", "from_timezone", "to_timezone"],
        },
    },
}


def test_answers_instead_of_converting_a_time_again_on_its_own_result(model):
    # Measured in the agent-task suite: the 0.5B model fed the converted time back in with the
    # same zones, up to seven times, and answered with the last (wrong) one.
    args = {"time": "2026-01-15T08:00", "from_timezone": "Australia/Sydney", "to_timezone": "UTC"}
    messages = [
        HumanMessage("What time is 08:00 on 2026-01-15 in Sydney in UTC?"),
        AIMessage("", tool_calls=[{"name": "convert_time", "args": args, "id": "c1"}]),
        ToolMessage(
            '{"timezone": "UTC", "date": "2026-01-14", "time": "21:00", "weekday": "Wednesday", '
            '"iso": "2026-01-14T21:00:00+00:00"}',
            tool_call_id="c1",
        ),
    ]
    reply = model.bind_tools([CONVERT_TIME]).invoke(messages)
    assert reply.tool_calls == [] and "21:00" in reply.content


class Person(BaseModel):
    """A person mentioned in the text."""

    name: str = Field(description="Full name")
    age: int = Field(description="Age in years")


def test_structured_output_returns_a_valid_object(model):
    person = model.with_structured_output(Person).invoke("Ada Lovelace was 36 years old when she died.")
    assert isinstance(person, Person)
    assert "Ada" in person.name and person.age == 36


async def test_async_invoke_answers(model):
    reply = await model.ainvoke("Reply with the single word: yes")
    assert "yes" in reply.content.lower()


def test_unknown_generation_option_is_rejected(model):
    with pytest.raises(TypeError, match=r"Unknown generation options \['temprature'\]"):
        model.invoke("hi", temprature=0.5)


def test_two_threads_loading_at_once_leave_stdout_and_stderr_working(model):
    """Parallel plan steps or debaters make their first model call together: two loads at once
    each swap file descriptors 1 and 2 to silence llama.cpp, and used to leave the process
    without stdout and stderr (2 of 3 tries before the load lock)."""
    import subprocess
    import sys

    code = (
        "import sys, threading\n"
        "from mcploom.local_models import ChatLlamaCpp\n"
        "models = [ChatLlamaCpp(model_path=sys.argv[1], max_tokens=4) for _ in range(2)]\n"
        "threads = [threading.Thread(target=m.invoke, args=('hi',)) for m in models]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print('stdout works', flush=True); print('stderr works', file=sys.stderr, flush=True)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, model.model_path], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "stdout works\n" and "stderr works" in result.stderr
