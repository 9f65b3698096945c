"""Control flow of the plan-and-execute graph with a scripted model and plain Python tools."""

from __future__ import annotations

import doctest

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command, interrupt

import mcploom.graphs.plan_execute
from mcploom.graphs.plan_execute import (
    ANSWER_NODE,
    PLANNER_PROMPT,
    Plan,
    PlanStep,
    Replan,
    Step,
    build_plan_execute_graph,
    normalize_steps,
    ready_steps,
)
from tests.fakes import ScriptedChatModel, structured, tool_call
from tests.graphs.tools import assert_overlapping, broken, calls, multiply, slow_echo


def plan(*steps: tuple[int, str, list[int]]) -> AIMessage:
    return structured(Plan, steps=[{"id": i, "task": t, "depends_on": d} for i, t, d in steps])


def replan(action: str, *steps: tuple[int, str, list[int]]) -> AIMessage:
    return structured(Replan, action=action, steps=[{"id": i, "task": t, "depends_on": d} for i, t, d in steps])


def prompts_of(model: ScriptedChatModel, role_prefix: str) -> list[list]:
    """The message lists the model got for one role, recognised by its system prompt."""
    return [
        seen for seen in model.seen if isinstance(seen[0], SystemMessage) and seen[0].content.startswith(role_prefix)
    ]


def run(graph, text: str, config=None):
    return graph.invoke({"messages": [HumanMessage(text)]}, config)


def test_plans_executes_each_step_with_tools_and_synthesizes():
    model = ScriptedChatModel.script(
        [
            plan((1, "Multiply 6 by 7", []), (2, "Double the product", [1])),
            tool_call("multiply", a=6, b=7),
            "42",
            replan("continue"),
            tool_call("multiply", a=42, b=2),
            "84",
            replan("finish"),
            "The answer is 84.",
        ]
    )
    result = run(build_plan_execute_graph(model=model, tools=[multiply]), "What is 6*7 doubled?")
    assert result["messages"][-1].content == "The answer is 84."
    assert [type(m).__name__ for m in result["messages"]] == ["HumanMessage", "AIMessage"]
    assert [(r["id"], r["result"]) for r in result["results"]] == [(1, "42"), (2, "84")]
    assert calls == ["multiply(6,7)", "multiply(42,2)"]
    assert result["request"] == "What is 6*7 doubled?" and result["replans"] == 2
    # The planner is told the tools; step 2's executor sees step 1's result; the synthesizer sees both.
    assert "- multiply: Multiply two integers." in model.seen[0][0].content
    step_two = model.seen[4][1].content
    assert "Overall request: What is 6*7 doubled?" in step_two and "Result: 42" in step_two
    assert step_two.endswith("Your step: Double the product")
    synthesis = model.seen[-1][0].content
    assert "Result: 42" in synthesis and "Result: 84" in synthesis


def test_independent_steps_run_in_parallel_and_join_for_the_dependent_step():
    model = ScriptedChatModel.script(
        [
            plan((1, "echo a", []), (2, "echo b", []), (3, "combine", [1, 2])),
            tool_call("slow_echo", text="a"),
            tool_call("slow_echo", text="b"),
            "got it",
            "got it",
            replan("continue"),
            "a+b",
            replan("finish"),
            "done",
        ]
    )
    graph = build_plan_execute_graph(model=model, tools=[slow_echo])
    updates = list(graph.stream({"messages": [HumanMessage("go")]}, stream_mode="updates"))
    assert_overlapping()
    assert [next(iter(u)) for u in updates] == [
        "planner",
        "execute",
        "execute",
        "replanner",
        "execute",
        "replanner",
        "synthesize",
    ]
    assert sorted(u["execute"]["results"][0]["id"] for u in updates[1:3]) == [1, 2]
    combine = next(seen for seen in model.seen if seen[-1].content.endswith("Your step: combine"))
    assert "1. echo a" in combine[-1].content and "2. echo b" in combine[-1].content


def test_replan_replaces_the_remaining_steps():
    model = ScriptedChatModel.script(
        [
            plan((1, "Multiply 2 by 3", []), (2, "Old step", [1])),
            "6",
            # A repeated finished step (1) is dropped; the new step may depend on it.
            replan("replan", (1, "Multiply 2 by 3", []), (3, "New step", [1])),
            "12",
            replan("finish"),
            "12 it is",
        ]
    )
    result = run(build_plan_execute_graph(model=model, tools=[multiply]), "go")
    assert [(r["id"], r["task"]) for r in result["results"]] == [(1, "Multiply 2 by 3"), (3, "New step")]
    assert result["plan"] == []
    replanner_view = prompts_of(model, "You check the progress")[0][1].content
    assert "Remaining steps:\n2. Old step (needs 1)" in replanner_view
    assert "Steps you may still run: 5" in replanner_view


def test_replanner_finish_skips_the_rest_of_the_plan():
    model = ScriptedChatModel.script([plan((1, "a", []), (2, "b", [1])), "A", replan("finish"), "answer"])
    result = run(build_plan_execute_graph(model=model, tools=[]), "go")
    assert [r["id"] for r in result["results"]] == [1]
    assert "not run" not in model.seen[-1][0].content
    assert result["messages"][-1].content == "answer"


def test_replanner_can_add_steps_after_the_plan_is_done():
    model = ScriptedChatModel.script(
        [plan((1, "a", [])), "A", replan("replan", (2, "check a", [1])), "ok", replan("finish"), "answer"]
    )
    result = run(build_plan_execute_graph(model=model, tools=[]), "go")
    assert [r["id"] for r in result["results"]] == [1, 2]


def test_max_steps_stops_execution_and_tells_the_synthesizer_what_did_not_run():
    model = ScriptedChatModel.script(
        [plan((1, "a", []), (2, "b", [1]), (3, "c", [2])), "A", replan("continue"), "B", "partial answer"]
    )
    result = run(build_plan_execute_graph(model=model, tools=[], max_steps=2), "go")
    assert [r["id"] for r in result["results"]] == [1, 2]
    assert result["replans"] == 1  # no replanner model call once the step budget is spent
    assert "Planned steps that were not run (step limit):\n3. c (needs 2)" in model.seen[-1][0].content
    assert result["messages"][-1].content == "partial answer"


def test_max_steps_caps_a_parallel_round():
    model = ScriptedChatModel.script([plan((1, "a", []), (2, "b", []), (3, "c", [])), "A", "B", "answer"])
    result = run(build_plan_execute_graph(model=model, tools=[], max_steps=2), "go")
    assert sorted(r["id"] for r in result["results"]) == [1, 2]


def test_after_max_replans_the_remaining_plan_runs_as_is():
    model = ScriptedChatModel.script(
        [plan((1, "a", []), (2, "b", [1]), (3, "c", [2])), "A", replan("continue"), "B", "C", "abc"]
    )
    result = run(build_plan_execute_graph(model=model, tools=[], max_replans=1), "go")
    assert [r["id"] for r in result["results"]] == [1, 2, 3]
    assert result["replans"] == 1
    assert len(prompts_of(model, "You check the progress")) == 1


def test_parallel_round_joins_before_the_next_round_without_replans():
    # Each parallel step alone sees only its own result; the next round must be chosen after the join.
    model = ScriptedChatModel.script([plan((1, "a", []), (2, "b", []), (3, "c", [1, 2])), "A", "B", "C", "abc"])
    result = run(build_plan_execute_graph(model=model, tools=[], max_replans=0), "go")
    assert sorted(r["id"] for r in result["results"]) == [1, 2, 3]
    assert result["results"][-1]["id"] == 3


def test_zero_replans_never_calls_the_replanner():
    model = ScriptedChatModel.script([plan((1, "a", []), (2, "b", [1])), "A", "B", "ab"])
    result = run(build_plan_execute_graph(model=model, tools=[], max_replans=0), "go")
    assert [r["id"] for r in result["results"]] == [1, 2] and result["replans"] == 0


def test_tool_error_in_a_step_reaches_the_executor_and_the_replanner_recovers():
    model = ScriptedChatModel.script(
        [
            plan((1, "Use broken on 3", [])),
            tool_call("broken", x=3),
            "broken failed: it cannot handle 3",
            replan("replan", (2, "Multiply 3 by 1 instead", [])),
            tool_call("multiply", a=3, b=1),
            "3",
            replan("finish"),
            "3",
        ]
    )
    result = run(build_plan_execute_graph(model=model, tools=[broken, multiply]), "go")
    observation = model.seen[2][-1]
    assert isinstance(observation, ToolMessage) and observation.status == "error"
    assert "broken cannot handle 3; try multiply instead" in observation.content
    assert "broken failed" in prompts_of(model, "You check the progress")[0][1].content
    assert [r["result"] for r in result["results"]] == ["broken failed: it cannot handle 3", "3"]


def test_max_iterations_limit_the_executor_loop():
    model = ScriptedChatModel.script(
        [plan((1, "loop", [])), tool_call("multiply", a=1, b=1), "forced answer", replan("finish"), "answer"]
    )
    result = run(build_plan_execute_graph(model=model, tools=[multiply], max_iterations=2), "go")
    assert result["results"][0]["result"] == "forced answer"
    assert calls == ["multiply(1,1)"]


def test_unparsable_plan_is_retried_with_the_error():
    model = ScriptedChatModel.script(
        [
            "Here is my plan: 1. do it",  # no tool call at all
            structured(Plan, steps=[]),  # fails validation: at least one step
            plan((1, "do it", [])),
            "done",
            replan("finish"),
            "answer",
        ]
    )
    result = run(build_plan_execute_graph(model=model, tools=[]), "go")
    assert result["plan"] == [] and [r["task"] for r in result["results"]] == ["do it"]
    first_retry, second_retry = model.seen[1][-1].content, model.seen[2][-1].content
    assert "the reply did not call Plan" in first_retry and "calling the Plan tool" in first_retry
    assert "steps" in second_retry and "at least 1" in second_retry
    # Retries replace the note rather than piling them up.
    assert len(model.seen[2]) == len(model.seen[0]) + 1


def test_plan_that_never_parses_falls_back_to_the_request_as_one_step():
    model = ScriptedChatModel.script(["no plan", "still no plan", "I did it", replan("finish"), "answer"])
    result = run(build_plan_execute_graph(model=model, tools=[], parse_retries=1), "Say hi")
    assert [(r["id"], r["task"], r["result"]) for r in result["results"]] == [(1, "Say hi", "I did it")]


def test_replan_that_never_parses_continues_with_the_plan():
    model = ScriptedChatModel.script(
        [plan((1, "a", []), (2, "b", [1])), "A", structured(Replan, action="maybe"), "B", replan("finish"), "ab"]
    )
    result = run(build_plan_execute_graph(model=model, tools=[], parse_retries=0), "go")
    assert [r["id"] for r in result["results"]] == [1, 2]


def test_second_request_on_a_thread_plans_from_scratch():
    model = ScriptedChatModel.script(
        [plan((1, "a", [])), "A", replan("finish"), "first", plan((1, "x", [])), "X", replan("finish"), "second"]
    )
    graph = build_plan_execute_graph(model=model, tools=[], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    run(graph, "one", config)
    result = run(graph, "two", config)
    assert [m.content for m in result["messages"]] == ["one", "first", "two", "second"]
    assert [(r["id"], r["task"]) for r in result["results"]] == [(1, "x")]
    assert result["request"] == "two" and result["replans"] == 1
    # The planner of the second request sees the whole conversation.
    assert [m.content for m in model.seen[4][1:]] == ["one", "first", "two"]


async def test_async_stream_shows_plan_results_and_replans():
    model = ScriptedChatModel.script([plan((1, "a", [])), tool_call("multiply", a=2, b=2), "4", replan("finish"), "4"])
    graph = build_plan_execute_graph(model=model, tools=[multiply])
    updates = [u async for u in graph.astream({"messages": [HumanMessage("2*2")]}, stream_mode="updates")]
    assert [next(iter(u)) for u in updates] == ["planner", "execute", "replanner", "synthesize"]
    assert updates[0]["planner"]["plan"] == [Step(id=1, task="a", depends_on=[])]
    assert updates[1]["execute"]["results"] == [{"id": 1, "task": "a", "result": "4"}]
    assert updates[2]["replanner"] == {"replans": 1, "plan": []}
    assert calls == ["multiply(2,2)"]


async def test_async_parallel_steps_overlap():
    model = ScriptedChatModel.script(
        [
            plan((1, "a", []), (2, "b", [])),
            tool_call("slow_echo", text="a"),
            tool_call("slow_echo", text="b"),
            "A",
            "B",
            replan("finish"),
            "ab",
        ]
    )
    graph = build_plan_execute_graph(model=model, tools=[slow_echo])
    result = await graph.ainvoke({"messages": [HumanMessage("go")]})
    assert_overlapping()
    assert sorted(r["result"] for r in result["results"]) == ["A", "B"]


def test_parallel_steps_pause_on_interrupts_and_resume_without_rerunning_anything():
    approved: list[tuple[str, str]] = []

    @tool
    def delete(path: str) -> str:
        """Delete a file (asks for approval)."""
        decision = interrupt({"tool": "delete", "path": path})
        approved.append((path, decision))
        return f"deleted {path}"

    model = ScriptedChatModel.script(
        [
            plan((1, "delete a", []), (2, "delete b", [])),
            tool_call("delete", path="a"),
            tool_call("delete", path="b"),
            "deleted one",
            "deleted other",
            replan("finish"),
            "both gone",
        ]
    )
    graph = build_plan_execute_graph(model=model, tools=[delete], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "approve"}}
    paused = run(graph, "delete a and b", config)
    pending = paused["__interrupt__"]
    assert sorted(i.value["path"] for i in pending) == ["a", "b"] and approved == []
    result = graph.invoke(Command(resume={i.id: "yes" for i in pending}), config)
    assert sorted(approved) == [("a", "yes"), ("b", "yes")]
    assert result["messages"][-1].content == "both gone"
    assert len(model.seen) == 7  # the script is used up exactly: no model call was repeated


def test_approval_pauses_parallel_steps_and_decisions_reach_each_call():
    model = ScriptedChatModel.script(
        [
            plan((1, "multiply 6 by 7", []), (2, "multiply 2 by 3", [])),
            tool_call("multiply", a=6, b=7),
            tool_call("multiply", a=2, b=3),
            "42",
            "refused",
            replan("finish"),
            "42, and the other was refused",
        ]
    )
    graph = build_plan_execute_graph(model=model, tools=[multiply], approval={"multiply"}, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "gated"}}
    pending = run(graph, "two products", config)["__interrupt__"]
    by_args = {i.value["calls"][0]["args"]["a"]: i for i in pending}
    assert sorted(by_args) == [2, 6] and calls == []
    resume = {by_args[6].id: {"action": "approve"}, by_args[2].id: {"action": "reject"}}
    result = graph.invoke(Command(resume=resume), config)
    assert calls == ["multiply(6,7)"]
    assert result["messages"][-1].content == "42, and the other was refused"
    assert len(model.seen) == 7


def test_answer_tokens_stream_from_the_answer_node():
    model = ScriptedChatModel.script([plan((1, "a", [])), "A", replan("finish"), "the final answer"])
    graph = build_plan_execute_graph(model=model, tools=[])
    tokens = [
        chunk.content
        for chunk, meta in graph.stream({"messages": [HumanMessage("go")]}, stream_mode="messages")
        if meta["langgraph_node"] == ANSWER_NODE and chunk.content
    ]
    assert tokens == ["the ", "final ", "answer"]


def test_subgraph_steps_stream_with_subgraphs_true():
    model = ScriptedChatModel.script(
        [plan((1, "a", [])), tool_call("multiply", a=2, b=5), "10", replan("finish"), "10"]
    )
    graph = build_plan_execute_graph(model=model, tools=[multiply])
    chunks = list(graph.stream({"messages": [HumanMessage("go")]}, stream_mode="updates", subgraphs=True))
    inner = [next(iter(update)) for namespace, update in chunks if namespace and namespace[0].startswith("execute:")]
    assert inner == ["agent", "tools", "agent"]


def test_normalize_steps_drops_duplicates_done_steps_and_dangling_dependencies():
    steps = [
        PlanStep(id=2, task="b", depends_on=[1, 2, 9, 3, 3]),
        PlanStep(id=3, task="c"),
        PlanStep(id=3, task="c again"),
        PlanStep(id=1, task="done already"),
    ]
    assert normalize_steps(steps, done={1}) == [
        Step(id=2, task="b", depends_on=[1, 3]),
        Step(id=3, task="c", depends_on=[]),
    ]


def test_ready_steps_waits_for_dependencies_and_breaks_cycles():
    plan_steps = [
        Step(id=1, task="a", depends_on=[]),
        Step(id=2, task="b", depends_on=[1]),
        Step(id=3, task="c", depends_on=[]),
    ]
    assert [s["id"] for s in ready_steps(plan_steps, [])] == [1, 3]
    assert [s["id"] for s in ready_steps(plan_steps, [{"id": 1, "task": "a", "result": ""}])] == [2, 3]
    cycle = [Step(id=1, task="a", depends_on=[2]), Step(id=2, task="b", depends_on=[1])]
    assert [s["id"] for s in ready_steps(cycle, [])] == [1]
    assert ready_steps(plan_steps[:1], [{"id": 1, "task": "a", "result": ""}]) == []


def test_cyclic_plan_still_runs_every_step():
    model = ScriptedChatModel.script([plan((1, "a", [2]), (2, "b", [1])), "A", "B", "ab"])
    result = run(build_plan_execute_graph(model=model, tools=[], max_replans=0), "go")
    assert [r["id"] for r in result["results"]] == [1, 2]


def test_graph_draws_as_mermaid():
    mermaid = build_plan_execute_graph(model=ScriptedChatModel.script([]), tools=[multiply]).get_graph().draw_mermaid()
    for edge in (
        "planner -.-> execute",
        "execute --> replanner",
        "replanner -.-> execute",
        "replanner -.-> synthesize",
    ):
        assert edge in mermaid


def test_structured_schemas_are_bound_as_tools():
    model = ScriptedChatModel.script([])
    build_plan_execute_graph(model=model, tools=[multiply])
    assert model.bound_tools == [["Plan"], ["Replan"], ["multiply"], ["multiply"]]
    assert "at most 6" in PLANNER_PROMPT.format(max_steps=6, tools="")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_steps": 0}, "max_steps must be at least 1, got 0"),
        ({"max_replans": -1}, "max_replans must be 0 or more, got -1"),
        ({"max_iterations": 0}, "max_iterations must be at least 1, got 0"),
        ({"parse_retries": -1}, "parse retries must be 0 or more, got -1"),
    ],
)
def test_limits_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_plan_execute_graph(model=ScriptedChatModel.script([]), tools=[], **kwargs)


def test_docstring_examples():
    assert doctest.testmod(mcploom.graphs.plan_execute).failed == 0
