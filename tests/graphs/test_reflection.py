"""Control flow of the reflection graph with a scripted model and plain Python tools."""

from __future__ import annotations

import doctest

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import ToolException, tool
from langgraph.checkpoint.memory import InMemorySaver

import mcploom.graphs.reflection
from mcploom.graphs.reflection import Critique, Review, best_draft, build_reflection_graph
from tests.fakes import ScriptedChatModel, structured, tool_call

calls: list[str] = []


@tool
def search(query: str) -> str:
    """Search the docs."""
    calls.append(f"search({query})")
    return "Paris is the capital of France."


@tool
def offline(query: str) -> str:
    """A search index that is down."""
    raise ToolException("the index is offline; answer from what you know")


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


def grade(score: int, feedback: str = "") -> AIMessage:
    return structured(Critique, score=score, feedback=feedback)


def critic_calls(model: ScriptedChatModel) -> list[list]:
    return [s for s in model.seen if isinstance(s[0], SystemMessage) and s[0].content.startswith("You grade a draft")]


def run(graph, text: str, config=None):
    return graph.invoke({"messages": [HumanMessage(text)]}, config)


def test_good_first_draft_is_answered_after_one_critique():
    model = ScriptedChatModel.script(["Paris.", grade(9)])
    result = run(build_reflection_graph(model=model), "Capital of France?")
    assert result["messages"][-1].content == "Paris."
    assert [type(m).__name__ for m in result["messages"]] == ["HumanMessage", "AIMessage"]
    assert result["drafts"] == ["Paris."] and result["critiques"] == [Review(score=9, feedback="")]
    critic = critic_calls(model)[0]
    assert "- Correct: every claim is true" in critic[0].content
    assert critic[1].content == "Request: Capital of France?\n\nDraft answer:\nParis."


def test_low_score_is_revised_from_the_feedback_until_it_passes():
    model = ScriptedChatModel.script(["Lyon.", grade(2, "Wrong city: the capital is Paris."), "Paris.", grade(9)])
    result = run(build_reflection_graph(model=model, system_prompt="Answer in one word."), "Capital of France?")
    assert result["messages"][-1].content == "Paris."
    assert result["drafts"] == ["Lyon.", "Paris."]
    assert [c["score"] for c in result["critiques"]] == [2, 9]
    revise = model.seen[2]
    assert revise[0].content.endswith("Additional instructions:\nAnswer in one word.")
    assert isinstance(revise[-2], AIMessage) and revise[-2].content == "Lyon."
    assert revise[-1].content.startswith(
        "A reviewer scored your answer 2/10 and said:\nWrong city: the capital is Paris."
    )


def test_score_equal_to_the_threshold_is_good_enough():
    model = ScriptedChatModel.script(["ok", grade(6)])
    result = run(build_reflection_graph(model=model, threshold=6), "go")
    assert len(result["drafts"]) == 1


def test_max_rounds_stops_and_answers_with_the_best_draft():
    model = ScriptedChatModel.script(["v1", grade(3, "more"), "v2", grade(7, "more"), "v3", grade(5, "worse")])
    result = run(build_reflection_graph(model=model, max_rounds=3), "go")
    assert result["drafts"] == ["v1", "v2", "v3"] and [c["score"] for c in result["critiques"]] == [3, 7, 5]
    assert result["messages"][-1].content == "v2"


def test_one_round_means_no_revision():
    model = ScriptedChatModel.script(["v1", grade(1, "bad")])
    result = run(build_reflection_graph(model=model, max_rounds=1), "go")
    assert result["messages"][-1].content == "v1" and len(model.seen) == 2


def test_critic_checks_facts_with_tools_and_the_reviser_sees_the_findings():
    model = ScriptedChatModel.script(
        [
            "The capital of France is Lyon.",
            tool_call("search", query="capital of France"),
            "Wrong: the docs say Paris is the capital.",
            grade(2, "Fix the capital."),
            "The capital of France is Paris.",
            tool_call("search", query="capital of France"),
            "Correct.",
            grade(10),
        ]
    )
    result = run(build_reflection_graph(model=model, tools=[search]), "Capital of France?")
    assert result["messages"][-1].content == "The capital of France is Paris."
    assert calls == ["search(capital of France)", "search(capital of France)"]
    assert model.bound_tools[-1] == ["search"]
    first_critique = critic_calls(model)[0][1].content
    assert first_critique.endswith("Fact check of the draft:\nWrong: the docs say Paris is the capital.")
    assert "A fact check of your answer found:\nWrong: the docs say Paris is the capital." in model.seen[4][-1].content
    assert result["findings"] == "Correct."


def test_tool_error_in_the_fact_check_is_observed_and_the_loop_goes_on():
    model = ScriptedChatModel.script(
        ["Paris.", tool_call("offline", query="capital"), "Could not check: index offline.", grade(8)]
    )
    result = run(build_reflection_graph(model=model, tools=[offline]), "Capital of France?")
    observation = model.seen[2][-1]
    assert isinstance(observation, ToolMessage) and observation.status == "error"
    assert "the index is offline; answer from what you know" in observation.content
    assert result["findings"] == "Could not check: index offline." and result["messages"][-1].content == "Paris."


def test_max_iterations_limit_the_fact_check_loop():
    model = ScriptedChatModel.script(["Paris.", tool_call("search", query="x"), "checked once", grade(9)])
    result = run(build_reflection_graph(model=model, tools=[search], max_iterations=2), "go")
    assert result["findings"] == "checked once" and calls == ["search(x)"]


def test_unparsable_critique_is_retried_with_the_error():
    model = ScriptedChatModel.script(["v1", "Score: 9/10", grade(11, "too generous"), grade(9)])
    result = run(build_reflection_graph(model=model), "go")
    assert [c["score"] for c in result["critiques"]] == [9]
    first_retry, second_retry = critic_calls(model)[1][-1].content, critic_calls(model)[2][-1].content
    assert "the reply did not call Critique" in first_retry
    assert "score" in second_retry and "less than or equal to 10" in second_retry


def test_critique_that_never_parses_ends_the_loop_with_the_draft():
    model = ScriptedChatModel.script(["v1", "9/10", "nine"])
    result = run(build_reflection_graph(model=model, parse_retries=1), "go")
    assert result["critiques"] == [Review(score=None, feedback="The critic's reply could not be parsed.")]
    assert result["messages"][-1].content == "v1"


def test_second_request_on_a_thread_starts_new_drafts():
    model = ScriptedChatModel.script(["a1", grade(2, "x"), "a2", grade(9), "b1", grade(9)])
    graph = build_reflection_graph(model=model, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    run(graph, "first", config)
    result = run(graph, "second", config)
    assert result["drafts"] == ["b1"] and [c["score"] for c in result["critiques"]] == [9]
    assert [m.content for m in result["messages"]] == ["first", "a2", "second", "b1"]
    # The second request's writer sees the conversation so far.
    assert [m.content for m in model.seen[4][1:]] == ["first", "a2", "second"]


async def test_async_stream_shows_drafts_and_scores():
    model = ScriptedChatModel.script(["v1", grade(4, "add detail"), "v2", grade(8)])
    graph = build_reflection_graph(model=model)
    updates = [u async for u in graph.astream({"messages": [HumanMessage("go")]}, stream_mode="updates")]
    assert [next(iter(u)) for u in updates] == ["generate", "critique", "revise", "critique", "finish"]
    assert updates[1]["critique"]["critiques"] == [Review(score=4, feedback="add detail")]
    assert updates[2]["revise"]["drafts"] == ["v2"]
    assert updates[-1]["finish"]["messages"][0].content == "v2"


async def test_async_fact_check_runs_the_tool_loop():
    model = ScriptedChatModel.script(["v1", tool_call("search", query="q"), "fine", grade(9)])
    result = await build_reflection_graph(model=model, tools=[search]).ainvoke({"messages": [HumanMessage("go")]})
    assert result["findings"] == "fine" and calls == ["search(q)"]


def test_graph_draws_with_a_fact_check_node_only_when_there_are_tools():
    with_tools = build_reflection_graph(model=ScriptedChatModel.script([]), tools=[search]).get_graph().draw_mermaid()
    for edge in ("generate --> fact_check", "fact_check --> critique", "critique -.-> revise", "revise --> fact_check"):
        assert edge in with_tools
    without = build_reflection_graph(model=ScriptedChatModel.script([])).get_graph().draw_mermaid()
    assert "fact_check" not in without and "generate --> critique" in without and "critique -.-> finish" in without


def test_best_draft_prefers_the_highest_score_then_the_latest():
    reviews = [Review(score=7, feedback=""), Review(score=7, feedback=""), Review(score=None, feedback="")]
    assert best_draft(["a", "b", "c"], reviews) == "b"
    assert best_draft(["a", "b"], [Review(score=None, feedback="")]) == "b"
    assert best_draft([], []) == ""


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 11}, "threshold must be between 0 and 10, got 11"),
        ({"threshold": -1}, "threshold must be between 0 and 10, got -1"),
        ({"max_rounds": 0}, "max_rounds must be at least 1, got 0"),
        ({"parse_retries": -1}, "parse retries must be 0 or more, got -1"),
    ],
)
def test_limits_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_reflection_graph(model=ScriptedChatModel.script([]), **kwargs)


def test_docstring_examples():
    assert doctest.testmod(mcploom.graphs.reflection).failed == 0
