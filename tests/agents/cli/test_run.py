"""``mcploom run`` and ``mcploom resume``: a real utility MCP server, and the real OpenAI SDK talking to
a scripted OpenAI-compatible server on 127.0.0.1 (``wire_servers.py``), so no model is loaded."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from mcploom.agents.cli import app
from mcploom.agents.cli.run import PAUSED_EXIT_CODE
from tests.agents.wire_servers import OpenAIReply, ScriptedServer, ToolCall

runner = CliRunner()

CALC = OpenAIReply(tool_calls=(ToolCall("call_1", "calculate", {"expression": "6 * 7"}),))
ANSWER = OpenAIReply(text="It is 42.")


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MCPLOOM_CONFIG", raising=False)
    monkeypatch.delenv("MCPLOOM_MODEL", raising=False)


def mcploom(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def model(server: ScriptedServer) -> str:
    return f"openai-compatible:{server.base_url}/v1#scripted"


def test_run_prints_the_answer_on_stdout_and_tool_calls_on_stderr():
    with ScriptedServer(CALC, ANSWER) as server:
        result = mcploom("run", "-m", model(server), "--checkpointer", "memory", "6*7?")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "It is 42."
    assert "→ calculate(expression='6 * 7')" in result.stderr
    assert "← calculate:" in result.stderr and "42" in result.stderr
    assert "tokens in" in result.stderr


def gated(tmp_path) -> list[str]:
    """Options for an agent whose every tool call waits for approval, threads in a SQLite file."""
    return ["--approval", "always", "--checkpointer", str(tmp_path / "threads.sqlite")]


def pause(common: list[str]):
    """Run "6*7?" until the calculate call waits; the result and the thread id it printed."""
    with ScriptedServer(CALC) as server:
        paused = mcploom("run", "-m", model(server), *common, "6*7?")
    return paused, re.search(r"mcploom resume (\w+) --approve", paused.stderr).group(1)


def resume(thread: str, flags: list[str], reply: OpenAIReply, common: list[str]):
    """``mcploom resume`` against a fresh scripted server (only the SQLite file carries state over);
    the result and the messages the model was sent."""
    with ScriptedServer(reply) as server:
        done = mcploom("resume", thread, *flags, "-m", model(server), *common)
        return done, server.requests[0].body["messages"]


def test_paused_run_exits_3_and_resume_approves_it_later(tmp_path):
    common = gated(tmp_path)
    paused, thread = pause(common)
    assert paused.exit_code == PAUSED_EXIT_CODE
    assert "waiting for approval: calculate(expression='6 * 7')" in paused.stderr
    assert "← calculate" not in paused.stderr  # nothing ran
    done, seen = resume(thread, ["--approve"], ANSWER, common)
    assert done.exit_code == 0, done.stderr
    assert done.stdout.strip() == "It is 42."
    assert seen[-1]["role"] == "tool" and "42" in seen[-1]["content"]


def test_resume_reject_tells_the_model(tmp_path):
    common = gated(tmp_path)
    _, thread = pause(common)
    reply = OpenAIReply(text="Fine, I will not.")
    done, seen = resume(thread, ["--reject", "--reason", "no maths today"], reply, common)
    assert done.stdout.strip() == "Fine, I will not."
    assert "no maths today" in seen[-1]["content"]


def test_named_agent_from_a_config_file(tmp_path):
    with ScriptedServer(ANSWER) as server:
        (tmp_path / "mcploom.toml").write_text(
            f'[models]\nscripted = "{model(server)}"\n\n'
            '[agents.quick]\nmodel = "scripted"\ncheckpointer = "memory"\nsystem_prompt = "Be terse."\n'
        )
        result = mcploom("run", "--agent", "quick", "hi")
        sent = server.requests[0].body["messages"]
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "It is 42."
    assert sent[0] == {"role": "system", "content": "Be terse."}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "swarm"], "At --pattern: unknown pattern 'swarm'. Use one of: react, plan_execute"),
        (["-p", "debat"], "unknown pattern 'debat'. Did you mean 'debate'?"),
        (["--approval", "maybe"], "At --approval: unknown approval 'maybe'"),
        (["--max-iterations", "0"], "At --max-iterations: expected a positive integer, got an integer (0). For"),
        (["--checkpointer", "nope"], "At --checkpointer: 'nope' is not a checkpointer. Use one of: memory"),
        (["--agent", "nobody"], "No mcploom config file found"),
    ],
)
def test_bad_options_are_one_line_errors(args, message):
    result = mcploom("run", "-m", "openai-compatible:http://127.0.0.1:9/v1#x", "--checkpointer", "memory", *args, "q")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr


def test_config_errors_keep_their_toml_tables_visible(tmp_path):
    (tmp_path / "mcploom.toml").write_text("[agents.a]\nmodle = 'local'\n")
    result = mcploom("run", "q")
    assert result.exit_code == 1
    assert "[agents.a]" in result.stderr and "model" in result.stderr


def test_resume_of_an_unknown_thread_says_so(tmp_path):
    result = mcploom(
        "resume", "no-such-thread", "-m", "openai-compatible:http://127.0.0.1:9/v1#x",
        "--checkpointer", str(tmp_path / "t.sqlite"),
    )  # fmt: skip
    assert result.exit_code == 1 and "no unfinished run" in result.stderr


def test_resume_edit_runs_the_call_with_new_arguments(tmp_path):
    common = gated(tmp_path)
    _, thread = pause(common)
    done, seen = resume(thread, ["--edit", '{"expression": "7 * 8"}'], OpenAIReply(text="It is 56."), common)
    assert done.exit_code == 0, done.stderr
    assert "56" in seen[-1]["content"] and "7 * 8" in seen[-1]["content"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--approve", "--reject"], "Choose one of --approve, --reject and --edit"),
        (["--edit", "not json"], "is not JSON"),
        (["--edit", "[1]"], "wants a JSON object"),
    ],
)
def test_contradictory_or_bad_resume_flags_are_errors(flags, message):
    result = mcploom(
        "resume", "t", *flags, "-m", "openai-compatible:http://127.0.0.1:9/v1#x", "--checkpointer", "memory"
    )
    assert result.exit_code == 1 and message in result.stderr


@pytest.mark.local_model
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_run_debate_on_the_bundled_model_through_the_console_script(tmp_path):
    """``mcploom run -p debate`` as a user types it: the installed console script, the bundled model,
    the default utility server; the rounds on stderr, the answer on stdout."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name("mcploom")
    question = "A crate holds 12 rows of 15 bottles, and 9 bottles are broken. How many whole bottles are there?"
    result = subprocess.run(
        [str(script), "run", "-p", "debate", "--checkpointer", "memory", "--max-iterations", "3", question],
        cwd=tmp_path,
        env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Debate round 1" in result.stderr
    assert "171" in result.stdout.replace(",", ""), (result.stdout, result.stderr[-2000:])
