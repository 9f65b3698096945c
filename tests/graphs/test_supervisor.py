"""Control flow of the supervisor graph with a scripted model and plain Python tools."""

from __future__ import annotations

import doctest

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import ToolException, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command, interrupt
from pydantic import ValidationError

import mcploom.graphs.supervisor
from mcploom.graphs.supervisor import (
    ANSWER_NODE,
    FINISH,
    REPEAT_NOTE,
    STALLED_NOTE,
    Worker,
    build_supervisor_graph,
    route_schema,
)
from tests.fakes import ScriptedChatModel, structured, tool_call

calls: list[str] = []


@tool
def search(query: str) -> str:
    """Search the docs."""
    calls.append(f"search({query})")
    return f"docs say: {query} is 42"


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    calls.append(f"multiply({a},{b})")
    return a * b


@tool
def flaky(x: int) -> int:
    """Always fails."""
    raise ToolException(f"flaky cannot handle {x}; ask the analyst")


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


RESEARCHER = Worker("researcher", "Finds facts in the docs.", "You are a researcher.", [search])
ANALYST = Worker("analyst", "Does arithmetic.", "You are an analyst.", [multiply])
TEAM = [RESEARCHER, ANALYST]


def route(next: str, instruction: str = "", answered: bool | None = None) -> AIMessage:
    answered = next == FINISH if answered is None else answered
    return structured("Route", answered=answered, next=next, instruction=instruction)


def supervisor_calls(model: ScriptedChatModel) -> list[list]:
    return [s for s in model.seen if isinstance(s[0], SystemMessage) and s[0].content.startswith("You lead a team")]


def run(graph, text: str, config=None):
    return graph.invoke({"messages": [HumanMessage(text)]}, config)


def test_routes_to_workers_collects_results_and_finishes():
    model = ScriptedChatModel.script(
        [
            route("researcher", "Find the magic number"),
            tool_call("search", query="magic number"),
            "The magic number is 42.",
            route("analyst", "Multiply 42 by 2"),
            tool_call("multiply", a=42, b=2),
            "84",
            route(FINISH),
            "Twice the magic number is 84.",
        ]
    )
    result = run(build_supervisor_graph(model=model, workers=TEAM), "What is twice the magic number?")
    assert result["messages"][-1].content == "Twice the magic number is 84."
    assert [type(m).__name__ for m in result["messages"]] == ["HumanMessage", "AIMessage"]
    assert [(h["worker"], h["result"]) for h in result["handoffs"]] == [
        ("researcher", "The magic number is 42."),
        ("analyst", "84"),
    ]
    assert result["next"] == FINISH and result["guard"] is None
    assert calls == ["search(magic number)", "multiply(42,2)"]
    # Each worker runs under its own prompt with the request and the supervisor's instruction.
    researcher_turn = model.seen[1]
    assert researcher_turn[0].content == "You are a researcher."
    assert "Request from the user: What is twice the magic number?" in researcher_turn[1].content
    assert "Your task: Find the magic number" in researcher_turn[1].content
    # The supervisor sees the roster, then the work so far; the final answer sees every result.
    first, second, third = supervisor_calls(model)
    assert "- researcher: Finds facts in the docs.\n- analyst: Does arithmetic." in first[0].content
    assert first[-1].content == "No worker has been asked yet. Who acts first?"
    assert "1. researcher was asked: Find the magic number\n   Reply: The magic number is 42." in second[-1].content
    assert "2. analyst was asked: Multiply 42 by 2" in third[-1].content
    assert "Reply: 84" in model.seen[-1][0].content


def test_each_worker_gets_only_its_own_tools():
    model = ScriptedChatModel.script([])
    build_supervisor_graph(model=model, workers=TEAM)
    assert model.bound_tools == [["Route"], ["search"], ["search"], ["multiply"], ["multiply"]]


def test_a_worker_calls_a_tool_before_it_replies():
    """A 0.5B worker that skipped its tools made its answer up; the supervisor chose it for them."""
    model = ScriptedChatModel.script(
        [route("analyst", "2*2"), tool_call("multiply", a=2, b=2), "4", route(FINISH), "4"]
    )
    run(build_supervisor_graph(model=model, workers=TEAM), "2*2?")
    assert model.tool_choices[1:3] == ["any", None]  # the worker's first call must use a tool; its next may answer


def test_immediate_finish_answers_without_workers():
    model = ScriptedChatModel.script([route(FINISH), "Hello!"])
    result = run(build_supervisor_graph(model=model, workers=TEAM), "hi")
    assert result["handoffs"] == [] and result["messages"][-1].content == "Hello!"
    assert "(no worker was asked)" in model.seen[-1][0].content


def test_answered_finishes_even_when_next_names_a_worker():
    model = ScriptedChatModel.script(
        [route("analyst", "2*2", answered=True), "4", route("analyst", "check it", answered=True), "4"]
    )
    result = run(build_supervisor_graph(model=model, workers=TEAM), "2*2?")
    # Before any worker has replied, answered=True is not believed; after one has, it finishes.
    assert [h["worker"] for h in result["handoffs"]] == ["analyst"]
    assert result["next"] == FINISH and result["guard"] is None


def test_empty_instruction_hands_over_the_request_itself():
    model = ScriptedChatModel.script([route("analyst"), "4", route(FINISH), "4"])
    run(build_supervisor_graph(model=model, workers=TEAM), "2*2?")
    assert "Your task: 2*2?" in model.seen[1][-1].content


def test_an_instruction_copied_from_the_workers_description_becomes_the_request():
    reader = Worker("reader", "Reads text files, such as notes.txt, and reports what they say.", "You read.", [search])
    copied = "Reads text files, such as notes.txt, and reports what they say."
    model = ScriptedChatModel.script([route("reader", copied), "widgets: 120", route(FINISH), "120"])
    result = run(build_supervisor_graph(model=model, workers=[reader]), "How many widgets are in notes.txt?")
    assert result["handoffs"][0]["instruction"] == "How many widgets are in notes.txt?"
    assert "Your task: How many widgets are in notes.txt?" in model.seen[1][-1].content


def test_a_final_answer_that_repeats_the_question_is_sent_back_once():
    model = ScriptedChatModel.script([route("analyst", "2*2"), "4", route(FINISH), "What is 2*2?", "2*2 is 4."])
    result = run(build_supervisor_graph(model=model, workers=TEAM), "What is 2*2?")
    assert result["messages"][-1].content == "2*2 is 4."
    assert "repeats the question" in model.seen[-1][-1].content


def test_repeated_handoff_is_refused_once_and_the_supervisor_goes_elsewhere():
    model = ScriptedChatModel.script(
        [
            route("researcher", "Find X"),
            "X is 1",
            route("researcher", "  find x "),  # the same task again, up to case and spacing
            route("analyst", "Add one to X=1"),
            "2",
            route(FINISH),
            "2",
        ]
    )
    updates = list(
        build_supervisor_graph(model=model, workers=TEAM).stream(
            {"messages": [HumanMessage("X+1?")]}, stream_mode="updates"
        )
    )
    assert [next(iter(u)) for u in updates] == [
        "supervisor",
        "researcher",
        "supervisor",
        "analyst",
        "supervisor",
        "finish",
    ]
    assert updates[2]["supervisor"]["next"] == "analyst" and updates[2]["supervisor"]["guard"] is None
    reasked = supervisor_calls(model)[2]
    assert reasked[-1].content == REPEAT_NOTE.format(worker="researcher")


def test_a_worker_repeating_its_reply_is_pointed_out_to_the_supervisor():
    model = ScriptedChatModel.script(
        [route("analyst", "12*34"), "408", route("analyst", "check 12*34"), " 408", route(FINISH), "408"]
    )
    run(build_supervisor_graph(model=model, workers=TEAM), "12*34?")
    second, third = supervisor_calls(model)[1:]
    assert STALLED_NOTE.format(worker="analyst") not in second[-1].content
    assert STALLED_NOTE.format(worker="analyst") in third[-1].content


def test_ping_pong_that_persists_is_stopped():
    model = ScriptedChatModel.script(
        [
            route("researcher", "Find X"),
            "X is 1",
            route("analyst", "Check X"),
            "looks fine",
            route("researcher", "Find X"),  # A -> B -> A with the same task
            route("analyst", "Check X"),  # re-asked: repeats the other one
            "Best effort: X is 1.",
        ]
    )
    result = run(build_supervisor_graph(model=model, workers=TEAM), "X?")
    assert result["guard"] == "repeated handoff to analyst"
    assert result["next"] == FINISH and len(result["handoffs"]) == 2
    assert result["messages"][-1].content == "Best effort: X is 1."


def test_max_handoffs_finishes_without_asking_the_supervisor():
    model = ScriptedChatModel.script(
        [route("researcher", "step 1"), "one", route("researcher", "step 2"), "two", "Stopped after two."]
    )
    result = run(build_supervisor_graph(model=model, workers=TEAM, max_handoffs=2), "go")
    assert result["guard"] == "max_handoffs (2) reached"
    assert len(supervisor_calls(model)) == 2
    assert result["messages"][-1].content == "Stopped after two."


def test_unparsable_decision_is_retried_with_the_error():
    model = ScriptedChatModel.script(
        [
            "I think the researcher should go.",  # free text: no Route call
            route("historian", "Find X"),  # not a worker: the Literal rejects it
            route("researcher", "Find X"),
            "X is 1",
            route(FINISH),
            "1",
        ]
    )
    result = run(build_supervisor_graph(model=model, workers=TEAM), "X?")
    assert [h["worker"] for h in result["handoffs"]] == ["researcher"]
    first_retry, second_retry = supervisor_calls(model)[1][-1].content, supervisor_calls(model)[2][-1].content
    assert "the reply did not call Route" in first_retry
    assert "historian" in second_retry and "'researcher', 'analyst' or 'FINISH'" in second_retry


def test_decision_that_never_parses_finishes():
    model = ScriptedChatModel.script(["researcher!", "researcher!!", "Sorry, I could not route that."])
    result = run(build_supervisor_graph(model=model, workers=TEAM, parse_retries=1), "X?")
    assert result["guard"] == "unparsable decision" and result["handoffs"] == []
    assert result["messages"][-1].content == "Sorry, I could not route that."


def test_tool_error_in_a_worker_is_observed_and_the_supervisor_reroutes():
    fixer = Worker("fixer", "Tries things.", "You fix.", [flaky])
    model = ScriptedChatModel.script(
        [
            route("fixer", "Handle 3"),
            tool_call("flaky", x=3),
            "flaky failed on 3",
            route("analyst", "Multiply 3 by 1"),
            "3",
            route(FINISH),
            "3",
        ]
    )
    result = run(build_supervisor_graph(model=model, workers=[fixer, ANALYST]), "go")
    observation = model.seen[2][-1]
    assert isinstance(observation, ToolMessage) and observation.status == "error"
    assert "flaky cannot handle 3; ask the analyst" in observation.content
    assert [h["result"] for h in result["handoffs"]] == ["flaky failed on 3", "3"]


def test_max_iterations_limit_the_worker_loop():
    model = ScriptedChatModel.script(
        [route("analyst", "loop"), tool_call("multiply", a=1, b=1), "forced", route(FINISH), "ok"]
    )
    result = run(build_supervisor_graph(model=model, workers=TEAM, max_iterations=2), "go")
    assert result["handoffs"][0]["result"] == "forced" and calls == ["multiply(1,1)"]


def test_second_request_on_a_thread_starts_a_fresh_team_run():
    model = ScriptedChatModel.script(
        [
            route("researcher", "Find X"),
            "X is 1",
            route(FINISH),
            "1",
            route("researcher", "Find X"),
            "X is 1",
            route(FINISH),
            "still 1",
        ]
    )
    graph = build_supervisor_graph(model=model, workers=TEAM, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    run(graph, "X?", config)
    result = run(graph, "Really?", config)
    # The same handoff as in the first request is not a repeat: handoffs belong to one request.
    assert [h["instruction"] for h in result["handoffs"]] == ["Find X"] and result["guard"] is None
    assert [m.content for m in result["messages"]] == ["X?", "1", "Really?", "still 1"]


async def test_a_tool_interrupt_in_a_worker_pauses_the_run_and_resumes():
    approved: list[tuple[str, str]] = []

    @tool
    def delete(path: str) -> str:
        """Delete a file (asks for approval)."""
        approved.append((path, interrupt({"tool": "delete", "path": path})))
        return f"deleted {path}"

    model = ScriptedChatModel.script(
        [route("ops", "delete a"), tool_call("delete", path="a"), "deleted a", route(FINISH), "done"]
    )
    ops = Worker("ops", "Deletes files.", "You delete files.", [delete])
    graph = build_supervisor_graph(model=model, workers=[ops], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "approve"}}
    paused = await graph.ainvoke({"messages": [HumanMessage("delete a")]}, config)
    assert [i.value for i in paused["__interrupt__"]] == [{"tool": "delete", "path": "a"}] and approved == []
    result = await graph.ainvoke(Command(resume="approve"), config)
    assert approved == [("a", "approve")]
    assert result["handoffs"] == [{"worker": "ops", "instruction": "delete a", "result": "deleted a"}]
    assert len(model.seen) == 5


async def test_async_stream_shows_each_routing_decision():
    model = ScriptedChatModel.script(
        [route("analyst", "6*7"), tool_call("multiply", a=6, b=7), "42", route(FINISH), "42"]
    )
    graph = build_supervisor_graph(model=model, workers=TEAM)
    updates = [u async for u in graph.astream({"messages": [HumanMessage("6*7?")]}, stream_mode="updates")]
    assert [next(iter(u)) for u in updates] == ["supervisor", "analyst", "supervisor", "finish"]
    assert updates[0]["supervisor"]["next"] == "analyst" and updates[0]["supervisor"]["instruction"] == "6*7"
    assert updates[1]["analyst"]["handoffs"] == [{"worker": "analyst", "instruction": "6*7", "result": "42"}]
    assert calls == ["multiply(6,7)"]


def test_answer_tokens_stream_from_the_answer_node():
    model = ScriptedChatModel.script([route(FINISH), "hello there"])
    graph = build_supervisor_graph(model=model, workers=TEAM)
    tokens = [
        chunk.content
        for chunk, meta in graph.stream({"messages": [HumanMessage("hi")]}, stream_mode="messages")
        if meta["langgraph_node"] == ANSWER_NODE and chunk.content
    ]
    assert tokens == ["hello ", "there"]


def test_worker_steps_stream_with_subgraphs_true():
    model = ScriptedChatModel.script(
        [route("analyst", "6*7"), tool_call("multiply", a=6, b=7), "42", route(FINISH), "42"]
    )
    graph = build_supervisor_graph(model=model, workers=TEAM)
    chunks = list(graph.stream({"messages": [HumanMessage("go")]}, stream_mode="updates", subgraphs=True))
    inner = [next(iter(update)) for namespace, update in chunks if namespace and namespace[0].startswith("analyst:")]
    assert inner == ["agent", "tools", "agent"]


def test_graph_draws_as_mermaid():
    mermaid = build_supervisor_graph(model=ScriptedChatModel.script([]), workers=TEAM).get_graph().draw_mermaid()
    for edge in (
        "supervisor -.-> researcher",
        "supervisor -.-> analyst",
        "analyst --> supervisor",
        "supervisor -.-> finish",
    ):
        assert edge in mermaid


def test_route_schema_offers_exactly_the_workers_and_finish():
    schema = route_schema(["researcher", "analyst"])
    properties = schema.model_json_schema()["properties"]
    assert list(properties) == ["answered", "next", "instruction"]
    assert properties["next"]["enum"] == ["researcher", "analyst", "FINISH"]
    with pytest.raises(ValidationError):
        schema(answered=False, next="historian")


@pytest.mark.parametrize(
    ("workers", "message"),
    [
        ([], "no workers"),
        ([Worker("two words", "d", "p")], "At Worker 'two words': the name must be one word"),
        ([Worker("finish", "d", "p")], "At Worker 'finish'"),
        ([Worker("FINISH", "d", "p")], "At Worker 'FINISH'"),
        ([Worker("a", "d", "p"), Worker("a", "e", "q")], "At Worker 'a': two workers have this name"),
    ],
)
def test_bad_teams_are_refused(workers, message):
    with pytest.raises(ValueError, match=message):
        build_supervisor_graph(model=ScriptedChatModel.script([]), workers=workers)


def test_max_handoffs_must_be_positive():
    with pytest.raises(ValueError, match="max_handoffs must be at least 1, got 0"):
        build_supervisor_graph(model=ScriptedChatModel.script([]), workers=TEAM, max_handoffs=0)


def test_docstring_examples():
    assert doctest.testmod(mcploom.graphs.supervisor).failed == 0


def test_approval_gates_a_workers_tool_and_resumes_in_the_worker():
    model = ScriptedChatModel.script(
        [route("analyst", "Multiply 6 by 7"), tool_call("multiply", a=6, b=7), "42", route(FINISH), "It is 42."]
    )
    graph = build_supervisor_graph(model=model, workers=TEAM, approval={"multiply"}, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "gated"}}
    (pending,) = run(graph, "6*7?", config)["__interrupt__"]
    assert pending.value["calls"][0]["name"] == "multiply" and calls == []
    result = graph.invoke(Command(resume={"action": "approve"}), config)
    assert calls == ["multiply(6,7)"] and result["messages"][-1].content == "It is 42."
    assert len(model.seen) == 5
