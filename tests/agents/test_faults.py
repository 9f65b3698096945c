"""Model providers that fail, through the real Anthropic and OpenAI SDKs against scripted servers on
127.0.0.1 (``wire_servers.py``): retried with backoff where the SDK retries (429 with retry-after,
503, 529), a one-line ``ModelCallError`` otherwise (500 after the retries, a timeout, a stream cut
off), the thread intact and resumable without repeating the tool calls that had returned, and a
tool call with broken JSON arguments answered so the model can try again."""

from __future__ import annotations

import pytest
from langchain_core.tools import tool
from typer.testing import CliRunner

from mcploom import Agent
from mcploom.agents.cli import app
from mcploom.agents.errors import ModelCallError
from tests.agents.wire_servers import AnthropicReply, Fault, OpenAIReply, ScriptedServer, ToolCall

OPENAI = "/v1/chat/completions"
ANTHROPIC = "/v1/messages"
ran: list[str] = []


@tool
def calculate(expression: str) -> str:
    """Compute an arithmetic expression."""
    ran.append(expression)
    return "42"


@pytest.fixture(autouse=True)
def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    ran.clear()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")


def openai(server: ScriptedServer) -> str:
    return f"openai-compatible:{server.base_url}/v1#scripted"


def anthropic(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    return "anthropic:claude-test"


def agent(model: str, **options: object) -> Agent:
    return Agent(model=model, servers={}, tools=[calculate], checkpointer="memory", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [429, 503])
def test_openai_retries_rate_limits_and_unavailability(status: int) -> None:
    with ScriptedServer(Fault(OPENAI, status, {"retry-after": "0"}), OpenAIReply(text="ok")) as server:
        with agent(openai(server)) as running:
            assert running.run("hi").answer == "ok"
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [429, 529])
def test_anthropic_retries_rate_limits_and_overload(status: int, monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer(Fault(ANTHROPIC, status, {"retry-after": "0"}), AnthropicReply(text="ok")) as server:
        with agent(anthropic(server, monkeypatch)) as running:
            assert running.run("hi").answer == "ok"
    assert len(server.requests) == 2


def test_a_server_error_after_the_retries_is_one_clear_error_and_the_thread_resumes() -> None:
    calc = OpenAIReply(tool_calls=(ToolCall("c1", "calculate", {"expression": "6*7"}),))
    with ScriptedServer(calc, *[Fault(OPENAI, 500)] * 3) as server:
        with agent(openai(server)) as running:
            with pytest.raises(ModelCallError) as failed:
                running.run("6*7?", thread_id="t1")
            message = str(failed.value)
            assert "failed on the provider's side and the retries ran out" in message and "500" in message
            assert "the thread t1 is saved" in message and "\n" not in message
            assert ran == ["6*7"] and len(server.requests) == 4  # one call, then three tries
            server.then(OpenAIReply(text="It is 42."))
            resumed = running.resume("t1")
    assert resumed.answer == "It is 42." and ran == ["6*7"]  # the tool did not run again


def test_a_timeout_is_a_model_call_error() -> None:
    late = Fault(OPENAI, delay=3, reply=OpenAIReply(text="late"))
    with ScriptedServer(late) as server:
        with agent(openai(server), model_options={"timeout": 1, "max_retries": 0}) as running:
            with pytest.raises(ModelCallError, match="did not answer in time"):
                running.run("hi")


def test_a_stream_cut_off_mid_answer_is_a_model_call_error() -> None:
    cut = Fault(OPENAI, reply=OpenAIReply(text="a long answer that stops in the middle"), cut_after=4)
    with ScriptedServer(cut) as server:
        with agent(openai(server)) as running:
            with pytest.raises(ModelCallError, match="dropped the connection"):
                list(running.stream("hi"))


def test_broken_json_in_tool_arguments_is_answered_and_retried() -> None:
    broken = OpenAIReply(tool_calls=(ToolCall("c1", "calculate", {}, raw='{"expression": "6*'),))
    fixed = OpenAIReply(tool_calls=(ToolCall("c2", "calculate", {"expression": "6*7"}),))
    with ScriptedServer(broken, fixed, OpenAIReply(text="42")) as server:
        with agent(openai(server)) as running:
            result = running.run("6*7?")
    assert result.answer == "42" and ran == ["6*7"]
    told = server.requests[1].body["messages"][-1]
    assert told["role"] == "tool" and told["tool_call_id"] == "c1" and "could not be read" in told["content"]


def test_the_command_line_reports_a_failed_model_in_one_line(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with ScriptedServer(*[Fault(OPENAI, 500)] * 3) as server:
        result = CliRunner().invoke(app, ["run", "-m", openai(server), "--checkpointer", "memory", "hi"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The model openai-compatible:") and len(result.stderr.splitlines()) == 1
