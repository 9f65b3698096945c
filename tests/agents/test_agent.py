"""The Agent API over a real MCP server (utility, over stdio), with scripted and real local models."""

from __future__ import annotations

import sys

import pytest
from langchain_core.messages import AIMessage

from mcploom.agents.agent import Agent
from mcploom.agents.errors import ConfigError, ServerStartError
from mcploom.agents.events import Answer, NodeEnd, NodeStart, Token, ToolCall, ToolResult
from tests.fakes import ScriptedChatModel, tool_call

UTILITY = {"utility": {"command": sys.executable, "args": ["-m", "mcploom.mcp_servers.utility"]}}


def scripted(*replies):
    return ScriptedChatModel.script(
        [
            AIMessage(r, usage_metadata={"input_tokens": 10, "output_tokens": 2, "total_tokens": 12})
            if isinstance(r, str)
            else r
            for r in replies
        ]
    )


async def test_arun_calls_the_mcp_tool_and_answers():
    model = scripted(tool_call("calculate", expression="1234 * 5678"), "It is 7006652.")
    async with Agent(model=model, servers=UTILITY) as agent:
        result = await agent.arun("What is 1234 * 5678?")
    assert result.answer == "It is 7006652."
    assert result.tool_calls == [{"name": "calculate", "args": {"expression": "1234 * 5678"}, "id": "call_calculate"}]
    observation = model.seen[1][-1]
    assert "7006652" in observation.content
    assert observation.artifact == {"expression": "1234 * 5678", "result": 7006652}
    assert result.usage == {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12}
    assert {"calculate", "convert_time"} <= set(model.bound_tools[0])


async def test_mcp_tool_error_reaches_the_model_as_an_observation():
    model = scripted(tool_call("calculate", expression="2 +"), "Sorry, that expression is incomplete.")
    async with Agent(model=model, servers=UTILITY) as agent:
        events = [event async for event in agent.astream("2 + ?")]
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.is_error and "Cannot parse '2 +'" in result.content
    assert isinstance(events[-1], Answer) and events[-1].text == "Sorry, that expression is incomplete."


def test_sync_stream_yields_tool_call_result_tokens_then_answer():
    model = scripted(tool_call("calculate", expression="6 * 7"), "The answer is 42.")
    with Agent(model=model, servers=UTILITY) as agent:
        events = list(agent.stream("6*7?"))
    shown = [e for e in events if isinstance(e, ToolCall | ToolResult | Token | Answer)]
    kinds = [type(e) for e in shown]
    assert kinds[:2] == [ToolCall, ToolResult]
    assert kinds[-1] is Answer and Token in kinds
    assert "".join(e.text for e in events if isinstance(e, Token)) == "The answer is 42."
    assert shown[1].content.find("42") >= 0 and not shown[1].is_error
    steps = [(type(e).__name__, e.node) for e in events if isinstance(e, NodeStart | NodeEnd)]
    assert steps[:4] == [("NodeStart", "agent"), ("NodeEnd", "agent"), ("NodeStart", "tools"), ("NodeEnd", "tools")]


def test_run_without_context_manager_opens_and_closes_sessions():
    agent = Agent(model=scripted(tool_call("calculate", expression="2**10"), "1024"), servers=UTILITY)
    result = agent.run("2^10?")
    assert result.answer == "1024"
    with pytest.raises(RuntimeError, match="not started"):
        _ = agent.graph


def test_plain_python_function_is_a_tool_and_threads_continue():
    def shout(text: str) -> str:
        """Upper-case the text."""
        return text.upper()

    model = scripted(tool_call("shout", text="hi"), "HI", "You said hi.")
    with Agent(model=model, tools=[shout]) as agent:
        first = agent.run("shout hi")
        second = agent.run("what did I say?", thread_id=first.thread_id)
    assert first.answer == "HI"
    assert second.tool_calls == []
    assert [m.content for m in second.messages if m.type == "human"] == ["shout hi", "what did I say?"]


def test_unknown_pattern_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown pattern 'swarm'. Use one of: react"):
        Agent(model=scripted(), pattern="swarm")  # type: ignore[arg-type]


def test_server_that_cannot_start_names_itself():
    broken = {
        "broken": {"command": sys.executable, "args": ["-c", "import sys; sys.stderr.write('boom\\n'); sys.exit(3)"]}
    }
    with pytest.raises(ServerStartError, match="broken"):
        with Agent(model=scripted(), servers=broken):
            pass


@pytest.mark.local_model
def test_end_to_end_on_the_bundled_local_model():
    """The README's promise: the default local model uses the utility server to multiply."""
    with Agent(model="local", servers=UTILITY) as agent:
        result = agent.run("What is 1234 * 5678? Use the calculator.")
    assert [call["name"] for call in result.tool_calls][:1] == ["calculate"]
    assert "7006652" in result.answer.replace(",", "").replace(" ", "")


def test_agent_is_importable_from_the_package_lazily():
    import subprocess

    code = (
        "import sys, mcploom; assert 'langgraph' not in sys.modules; "
        "from mcploom import Agent, RunResult; print(Agent.__name__)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Agent"


@pytest.mark.local_model
def test_local_model_queries_the_sql_server(tmp_path):
    """The sql server's query tool (maxLength 100000) once crashed llama.cpp's grammar parser."""
    import sqlite3

    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE items (name TEXT, price REAL)")
        conn.executemany("INSERT INTO items VALUES (?, ?)", [("pen", 1.5), ("book", 12.0), ("lamp", 30.0)])
    servers = {"sql": {"command": sys.executable, "args": ["-m", "mcploom.mcp_servers.sql", str(db)]}}
    with Agent(model="local", servers=servers, checkpointer="memory", max_iterations=4) as agent:
        result = agent.run("How many rows does the items table have? Use the query tool with SQL.")
    assert "query" in [call["name"] for call in result.tool_calls]
    assert "3" in result.answer


def test_a_run_that_ends_without_an_answer_says_why():
    from mcploom.agents.errors import EmptyAnswerError

    cut = AIMessage("", response_metadata={"finish_reason": "length"})
    model = scripted("", cut)
    with Agent(model=model, servers={}, checkpointer="memory") as agent:
        with pytest.raises(
            EmptyAnswerError, match="cut off at its token limit, even after it was asked again"
        ) as caught:
            agent.run("Tell me a long story.")
    assert "The thread" in str(caught.value) and "max_tokens" in str(caught.value)


def test_server_instructions_follow_the_system_prompt():
    model = scripted("Fine.")
    with Agent(model=model, servers=UTILITY, checkpointer="memory", system_prompt="Be brief.") as agent:
        agent.run("Hi")
    system = model.seen[0][0].content
    assert system.startswith("Be brief.") and "- utility: Exact arithmetic and the current time." in system
