"""The Agent API across patterns: pattern selection, options, workers, approval and resume, events."""

from __future__ import annotations

import sys

import pytest
from langchain_core.messages import AIMessage

from mcploom.agents.agent import Agent
from mcploom.agents.errors import ConfigError
from mcploom.agents.events import (
    Answer,
    ApprovalRequest,
    Critique,
    Handoff,
    ModelUsage,
    PlanUpdate,
    StepResult,
    Token,
    ToolCall,
    ToolResult,
)
from mcploom.graphs.plan_execute import Plan, Replan
from mcploom.graphs.reflection import Critique as CritiqueSchema
from tests.fakes import ScriptedChatModel, structured, tool_call

UTILITY = {"utility": {"command": sys.executable, "args": ["-m", "mcploom.mcp_servers.utility"]}}
USAGE = {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6}

deleted: list[str] = []


def delete_file(path: str) -> str:
    """Delete a file."""
    deleted.append(path)
    return f"deleted {path}"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@pytest.fixture(autouse=True)
def _reset():
    deleted.clear()


def scripted(*replies):
    return ScriptedChatModel.script([AIMessage(r, usage_metadata=USAGE) if isinstance(r, str) else r for r in replies])


def plan(*tasks: str) -> AIMessage:
    return structured(Plan, steps=[{"id": i, "task": t, "depends_on": []} for i, t in enumerate(tasks, 1)])


# --- patterns -------------------------------------------------------------------------------


def test_plan_execute_streams_plan_steps_and_the_synthesised_answer():
    model = scripted(
        plan("add 2 and 3"), tool_call("add", a=2, b=3), "5", structured(Replan, action="finish", steps=[]), "It is 5."
    )
    with Agent(model=model, tools=[add], pattern="plan_execute", checkpointer="memory") as agent:
        events = list(agent.stream("2+3 in steps"))
    (first_plan, final_plan) = [e for e in events if isinstance(e, PlanUpdate)]
    assert first_plan.steps == [{"id": 1, "task": "add 2 and 3", "depends_on": []}] and first_plan.revision == 0
    assert final_plan.steps == [] and final_plan.revision == 1
    assert [e for e in events if isinstance(e, StepResult)] == [StepResult(1, "add 2 and 3", "5")]
    call = next(e for e in events if isinstance(e, ToolCall))
    assert call.name == "add" and call.path == ("execute",)
    assert "".join(e.text for e in events if isinstance(e, Token)) == "It is 5."
    assert {e.node for e in events if isinstance(e, Token)} == {agent.answer_node} == {"synthesize"}
    assert isinstance(events[-1], Answer) and events[-1].text == "It is 5."


def test_reflection_streams_critique_scores():
    model = scripted(
        "Draft one.",
        structured(CritiqueSchema, score=4, feedback="Add detail."),
        "Draft two, detailed.",
        structured(CritiqueSchema, score=9, feedback=""),
    )
    with Agent(model=model, pattern="reflection", checkpointer="memory", options={"threshold": 8}) as agent:
        events = list(agent.stream("Explain X"))
    assert [(e.round, e.score) for e in events if isinstance(e, Critique)] == [(1, 4), (2, 9)]
    assert events[-1] == Answer("Draft two, detailed.", events[-1].usage, events[-1].cost)


def test_supervisor_routes_to_named_workers_with_their_tool_subsets():
    model = scripted(
        structured("Route", answered=False, next="adder", instruction="Add 2 and 3"),
        tool_call("add", a=2, b=3),
        "5",
        structured("Route", answered=True, next="FINISH", instruction=""),
        "The sum is 5.",
    )
    workers = {"adder": {"description": "Adds numbers.", "tools": ["ad*"]}, "cleaner": {"description": "Deletes."}}
    with Agent(
        model=model, tools=[add, delete_file], pattern="supervisor", workers=workers, checkpointer="memory"
    ) as agent:
        events = list(agent.stream("2+3"))
    assert [e.worker for e in events if isinstance(e, Handoff)] == ["adder", "FINISH"]
    assert model.bound_tools[1] == ["add"]  # the adder sees only its tools
    assert events[-1].text == "The sum is 5."


def test_supervisor_default_team_is_one_worker_per_server():
    model = scripted(structured("Route", answered=True, next="FINISH", instruction=""), "Nothing to do.")
    with Agent(model=model, servers=UTILITY, tools=[add], pattern="supervisor", checkpointer="memory") as agent:
        nodes = set(agent.graph.get_graph().nodes)
        assert {"utility", "assistant", "supervisor"} <= nodes
        assert agent.run("hi").answer == "Nothing to do."


def test_supervisor_server_instructions_go_to_the_workers_that_use_the_servers():
    """A 0.5B supervisor shown a server's instructions handed them out as the worker's task."""
    model = scripted(
        structured("Route", answered=False, next="utility", instruction="Add 2 and 3."),
        "5",
        structured("Route", answered=True, next="FINISH", instruction=""),
        "5",
    )
    with Agent(model=model, servers=UTILITY, tools=[add], pattern="supervisor", checkpointer="memory") as agent:
        agent.run("2+3?")
    note = "- utility: Exact arithmetic and the current time."
    supervisor, worker = model.seen[0][0].content, model.seen[1][0].content
    assert note not in supervisor and worker.startswith("You are the utility worker.") and note in worker


def test_react_with_samples_runs_self_consistency():
    model = scripted("42", "41", "42")
    with Agent(model=model, checkpointer="memory", options={"samples": 3}) as agent:
        result = agent.run("6*7?")
        assert set(agent.graph.get_graph().nodes) == {"__start__", "sample", "vote", "__end__"}
    assert result.answer == "42"


def test_every_option_the_readme_lists_for_react_is_accepted():
    """Issue #9, bug 1: ``temperature`` went to the factory unstripped and raised a TypeError."""
    with Agent(model=scripted("7"), servers={}, checkpointer="memory", options={"temperature": 0.5}) as agent:
        assert agent.run("3+4?").answer == "7"
    with Agent(
        model=scripted("7", "7"), servers={}, checkpointer="memory", options={"samples": 2, "temperature": 0.5}
    ) as agent:
        assert agent.run("3+4?").answer == "7"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pattern": "swarm"}, "At Agent\\(pattern=...\\): unknown pattern 'swarm'"),
        ({"pattern": "plan_execute", "options": {"max_stepz": 3}}, "Unknown option 'max_stepz' .*max_steps"),
        ({"pattern": "react", "workers": {"a": {"description": "x"}}}, "workers are for the supervisor"),
        ({"pattern": "supervisor", "workers": {"a": {"description": "x", "tools": ["nope*"]}}}, "matches no tool"),
        ({"pattern": "supervisor", "workers": {"a": {"tools": ["add"]}}}, "needs a description"),
        ({"pattern": "supervisor", "workers": {"a": {"description": "x", "servers": ["sql"]}}}, "not configured"),
        ({"approval": "sometimes"}, "unknown approval 'sometimes'"),
        ({"max_iterations": 0}, "At Agent\\(max_iterations=...\\): expected a positive integer"),
        ({"elicitation": "ask me"}, "At Agent\\(elicitation=...\\): expected an async function or None, got"),
        (
            {"options": {"temperature": 0.5, "seed": 3}},
            "Unknown option 'seed' for pattern 'react'; it takes: samples, temperature",
        ),
        ({"pattern": "plan_execute", "options": {"max_steps": 0}}, "Pattern 'plan_execute': .*max_steps"),
        ({"pattern": "supervisor", "workers": {"FINISH": {"description": "x"}}}, "Pattern 'supervisor': .*FINISH"),
    ],
)
def test_bad_settings_are_config_errors_that_say_what_to_use(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        with Agent(model=scripted(), tools=[add], checkpointer="memory", **kwargs):
            pass


# --- approval and resume ----------------------------------------------------------------------


def test_destructive_mcp_tools_need_approval_and_read_only_ones_do_not():
    with Agent(model=scripted(), servers=UTILITY, tools=[delete_file], checkpointer="memory") as agent:
        gated = {t.name for t in agent.tools if agent.needs_approval(t)}
    assert gated == set()  # utility tools say readOnlyHint; Python tools carry no hints
    with Agent(model=scripted(), tools=[delete_file], approval_tools=["delete_*"], checkpointer="memory") as agent:
        assert [t.name for t in agent.tools if agent.needs_approval(t)] == ["delete_file"]


def test_run_pauses_for_approval_and_resume_runs_the_call(tmp_path):
    model = scripted(tool_call("delete_file", call_id="c1", path="a.txt"), "Deleted a.txt.")
    with Agent(model=model, tools=[delete_file], approval_tools=["delete_file"], checkpointer="memory") as agent:
        paused = agent.run("delete a.txt")
        assert paused.paused and paused.answer == ""
        assert [(c.name, c.args, c.id) for c in paused.pending] == [("delete_file", {"path": "a.txt"}, "c1")]
        assert agent.pending(paused.thread_id) == paused.pending
        assert deleted == []
        done = agent.resume(paused.thread_id, "approve")
    assert deleted == ["a.txt"] and done.answer == "Deleted a.txt." and not done.paused


def test_stream_ends_with_an_approval_request_and_edit_changes_the_arguments():
    model = scripted(tool_call("delete_file", call_id="c1", path="/etc/passwd"), "Done.")
    with Agent(model=model, tools=[delete_file], approval="always", checkpointer="memory") as agent:
        events = list(agent.stream("clean up", thread_id="t-edit"))
        assert isinstance(events[-1], ApprovalRequest) and events[-1].thread_id == "t-edit"
        resumed = list(agent.stream_resume("t-edit", {"c1": {"action": "edit", "args": {"path": "tmp.txt"}}}))
    assert deleted == ["tmp.txt"]
    assert [e.content for e in resumed if isinstance(e, ToolResult)] == ["deleted tmp.txt"]
    assert resumed[-1].text == "Done."


def test_paused_thread_survives_a_restart_in_sqlite(tmp_path):
    """A second Agent (as after a restart) resumes the thread from the SQLite file."""
    db = tmp_path / "threads.sqlite"
    first = scripted(tool_call("delete_file", call_id="c1", path="a.txt"))
    with Agent(model=first, tools=[delete_file], approval_tools=["delete_file"], checkpointer=db) as agent:
        paused = agent.run("delete a.txt")
    second = scripted("Deleted.")
    with Agent(model=second, tools=[delete_file], approval_tools=["delete_file"], checkpointer=str(db)) as agent:
        assert [c.id for c in agent.pending(paused.thread_id)] == ["c1"]
        result = agent.resume(paused.thread_id, {"action": "reject", "reason": "keep it"})
    assert deleted == [] and result.answer == "Deleted."
    assert "keep it" in second.seen[0][-1].content
    assert [m.type for m in result.messages] == ["human", "ai", "tool", "ai"]


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        (None, "waits for approval of: delete_file \\(id c1\\)"),
        ("maybe", "Unknown decision 'maybe'"),
        ({"zz": "approve"}, "No pending tool call has id \\['zz'\\]"),
        ({"action": "edit"}, "needs the new arguments"),
    ],
)
def test_bad_decisions_are_refused_before_anything_runs(decision, message):
    model = scripted(tool_call("delete_file", call_id="c1", path="a.txt"), "ok")
    with Agent(model=model, tools=[delete_file], approval="always", checkpointer="memory") as agent:
        paused = agent.run("delete")
        with pytest.raises(ConfigError, match=message):
            agent.resume(paused.thread_id, decision)
        assert deleted == [] and agent.pending(paused.thread_id) == paused.pending


def test_resume_of_a_finished_thread_says_there_is_nothing_to_resume():
    with Agent(model=scripted("hi"), checkpointer="memory") as agent:
        done = agent.run("hello")
        with pytest.raises(ConfigError, match="no unfinished run"):
            agent.resume(done.thread_id)
        with pytest.raises(ConfigError, match="waits for no approval"):
            agent.resume(done.thread_id, "approve")


# --- usage ------------------------------------------------------------------------------------


async def test_usage_is_reported_per_model_call_and_per_run():
    model = scripted(plan("a"), "A", structured(Replan, action="finish", steps=[]), "done")
    async with Agent(model=model, pattern="plan_execute", checkpointer="memory") as agent:
        events = [e async for e in agent.astream("go")]
    calls = [e for e in events if isinstance(e, ModelUsage)]
    assert len(calls) == 4  # planner, step, replanner, synthesis: structured calls count too
    answer = events[-1]
    assert answer.usage["input_tokens"] == sum(c.input_tokens for c in calls)


# --- traces -----------------------------------------------------------------------------------


def test_trace_writes_every_event_of_the_run_as_json_lines(tmp_path, monkeypatch):
    import json

    file = tmp_path / "run.jsonl"
    model = scripted(tool_call("add", a=1, b=2), "3")
    with Agent(model=model, tools=[add], checkpointer="memory", trace=file) as agent:
        events = list(agent.stream("1+2", thread_id="traced"))
    lines = [json.loads(line) for line in file.read_text().splitlines()]
    assert [line["type"] for line in lines] == [type(e).__name__ for e in events]
    assert lines[-1]["text"] == "3" and all(line["thread_id"] == "traced" for line in lines)
    assert all(isinstance(line["ts"], float) for line in lines)

    monkeypatch.setenv("MCPLOOM_HOME", str(tmp_path / "home"))
    with Agent(model=scripted("hi"), checkpointer="memory", trace=True) as agent:
        agent.run("hello", thread_id="default-place")
    assert (tmp_path / "home" / "traces" / "default-place.jsonl").read_text().count("\n") > 2


def test_unknown_options_fail_at_construction_before_any_server_starts():
    with pytest.raises(ConfigError, match="Unknown option 'rubrik'"):
        Agent(model=scripted(), servers=UTILITY, pattern="reflection", options={"rubrik": "x"})
