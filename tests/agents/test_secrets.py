"""An API key planted in the environment or the model options reaches the provider and nothing else:
not the logs (every logger at DEBUG, the SDKs' and httpx's included), not the JSONL trace, not the
checkpoint database, not an error message, not the CLI's output."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import pytest
from langchain_core.tools import tool
from typer.testing import CliRunner

from mcploom import Agent
from mcploom.agents.cli import app
from mcploom.agents.errors import ModelCallError
from tests.agents.wire_servers import AnthropicReply, Fault, OpenAIReply, ScriptedServer, ToolCall


@tool
def calculate(expression: str) -> str:
    """Compute an arithmetic expression."""
    return "42"


@pytest.fixture
def planted() -> str:
    return f"sk-planted-{secrets.token_hex(16)}"


def everything_written(tmp_path: Path, caplog: pytest.LogCaptureFixture, *extra: str) -> str:
    files = [path.read_bytes().decode("utf-8", "replace") for path in tmp_path.rglob("*") if path.is_file()]
    return "\n".join([caplog.text, *files, *extra])


def run_and_fail(model: str, tmp_path: Path, **options: object) -> str:
    """One run with a tool call, then one the provider refuses; the error message, for the grep."""
    with Agent(
        model=model,
        servers={},
        tools=[calculate],
        checkpointer=tmp_path / "threads.sqlite",
        trace=tmp_path / "trace.jsonl",
        **options,  # type: ignore[arg-type]
    ) as agent:
        result = agent.run("What is 6 * 7?")
        assert result.answer == "42"
        with pytest.raises(ModelCallError) as caught:
            agent.run("again", thread_id=result.thread_id)
    return str(caught.value)


@pytest.mark.parametrize("how", ["environment", "model_options"])
def test_an_openai_compatible_key_stays_out_of_logs_traces_and_threads(
    how: str, planted: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    options: dict[str, object] = {}
    if how == "environment":
        monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", planted)
    else:
        options["model_options"] = {"api_key": planted}
    script = (
        OpenAIReply(tool_calls=[ToolCall("call-1", "calculate", {"expression": "6 * 7"})]),
        OpenAIReply(text="42"),
        Fault("/v1/chat/completions", 401),
    )
    with ScriptedServer(*script) as server:
        error = run_and_fail(f"openai-compatible:{server.base_url}/v1#scripted", tmp_path, **options)
    assert server.requests[0].headers["authorization"] == f"Bearer {planted}"
    assert "401" in error
    assert planted not in everything_written(tmp_path, caplog, error)
    assert planted[:20] not in everything_written(tmp_path, caplog, error)


def test_an_anthropic_key_stays_out_of_logs_traces_threads_and_cli_output(
    planted: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ANTHROPIC_API_KEY", planted)
    monkeypatch.setenv("MCPLOOM_HOME", str(tmp_path / "home"))
    script = (
        AnthropicReply(tool_calls=[ToolCall("call-1", "calculate", {"expression": "6 * 7"})]),
        AnthropicReply(text="42"),
        *[Fault("/v1/messages", 401)] * 3,  # the run's, then the CLI's (which the SDK tries twice when streaming)
    )
    no_servers = tmp_path / "servers.json"
    no_servers.write_text("{}")
    with ScriptedServer(*script) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        error = run_and_fail("anthropic:claude-test", tmp_path)
        cli = CliRunner().invoke(
            app, ["run", "--model", "anthropic:claude-test", "--mcp-config", str(no_servers), "--trace", "hi"]
        )
    assert planted in server.requests[0].headers["authorization"]
    assert cli.exit_code != 0 and "401" in cli.output
    assert planted not in everything_written(tmp_path, caplog, error, cli.output)
