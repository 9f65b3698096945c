"""Control flow and voting of the self-consistency graph with seeded scripted models and plain tools."""

from __future__ import annotations

import doctest

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

import mcploom.graphs.self_consistency
from mcploom.graphs.react import LIMIT_NOTE, build_react_graph
from mcploom.graphs.self_consistency import ANSWER_NODE, Sample, answer_key, build_self_consistency_graph, count_votes
from tests.fakes import ScriptedChatModel, SeededChatModel, tool_call
from tests.graphs.tools import broken, calls, multiply, slow_echo, spans


def run(graph, text: str, config=None):
    return graph.invoke({"messages": [HumanMessage(text)]}, config)


def answers(*replies: str | list) -> SeededChatModel:
    """A model whose sample ``i`` (seed ``i``) follows ``replies[i]``: one reply or a list of turns."""
    return SeededChatModel.seeded({i: r if isinstance(r, list) else [r] for i, r in enumerate(replies)})


def test_majority_wins_and_the_counts_are_kept():
    model = answers("41", "It is 42.", "42", "43", "42")
    result = run(build_self_consistency_graph(model=model, tools=[], samples=5), "6*7?")
    assert result["vote"] == {"key": "42", "counts": {"41": 1, "42": 3, "43": 1}, "winner": 1}
    assert [s["answer"] for s in result["samples"]] == ["41", "It is 42.", "42", "43", "42"]
    # The conversation gets one answer: the first sample with the winning key, in full.
    assert [type(m).__name__ for m in result["messages"]] == ["HumanMessage", "AIMessage"]
    assert result["messages"][-1].content == "It is 42."
    # Each sample ran on its own copy: the given temperature, seeds 0..4.
    assert sorted(model.settings) == [(0.7, seed) for seed in range(5)]


def test_a_tie_goes_to_the_answer_of_the_earliest_sample():
    model = answers("Rome", "Lyon", "Paris", "lyon.", "**PARIS**")
    result = run(build_self_consistency_graph(model=model, tools=[], samples=5), "Where?")
    assert result["vote"] == {"key": "lyon", "counts": {"rome": 1, "lyon": 2, "paris": 2}, "winner": 1}
    assert result["messages"][-1].content == "Lyon"


def test_numeric_answers_agree_on_their_last_number():
    model = answers("It is 41.", "The answer is 42.", "42")
    result = run(build_self_consistency_graph(model=model, tools=[], samples=3), "6*7?")
    assert result["vote"]["counts"] == {"41": 1, "42": 2}
    assert result["messages"][-1].content == "The answer is 42."


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("The answer is 42.", "42"),
        ("6 * 7 = 42", "42"),
        ("7,006,652", "7006652"),
        ("42.0", "42"),
        ("$1,000.50", "1000.5"),
        ("x = -3", "-3"),
        ("pages 10-12", "12"),
        ("  **Paris**. ", "paris"),
        ("New   York!", "new york"),
        ('"Yes"', "yes"),
        ("", ""),
    ],
)
def test_answer_key(text, key):
    assert answer_key(text) == key


def test_samples_without_an_answer_do_not_vote():
    votes = count_votes([Sample(index=i, answer=a, key=answer_key(a)) for i, a in enumerate(["", "Paris", ""])])
    assert votes == {"key": "paris", "counts": {"paris": 1}, "winner": 1}
    nothing = count_votes([Sample(index=0, answer="", key=""), Sample(index=1, answer=" ", key="")])
    assert nothing == {"key": "", "counts": {}, "winner": 0}


def test_samples_call_tools_and_only_the_answer_joins_the_conversation():
    model = answers(
        [tool_call("multiply", a=6, b=7), "42"],
        [tool_call("multiply", a=6, b=7), "The product is 42."],
        ["I think 48"],
    )
    result = run(build_self_consistency_graph(model=model, tools=[multiply], samples=3, system_prompt="Be exact."), "?")
    assert calls == ["multiply(6,7)", "multiply(6,7)"]  # tools run once per sample that calls them
    assert result["vote"]["counts"] == {"42": 2, "48": 1}
    assert [type(m).__name__ for m in result["messages"]] == ["HumanMessage", "AIMessage"]
    assert result["messages"][-1].content == "42"
    observed = [seen for seen in model.seen if isinstance(seen[-1], ToolMessage)]
    assert [seen[-1].content for seen in observed] == ["42", "42"]
    assert all(isinstance(seen[0], SystemMessage) and seen[0].content == "Be exact." for seen in model.seen)
    assert model.bound_tools == [["multiply"]] * 6  # two bindings per sample: offered, and a must-call


def test_samples_run_in_parallel():
    model = answers(*([tool_call("slow_echo", text="x"), "x"] for _ in range(3)))
    result = run(build_self_consistency_graph(model=model, tools=[slow_echo], samples=3), "echo")
    assert result["vote"]["counts"] == {"x": 3}
    (first_start, first_end), *_, (last_start, _) = sorted(spans)
    assert last_start < first_end, "the samples' tool calls did not overlap"


def test_a_sample_at_its_iteration_limit_still_answers_and_votes():
    model = answers(
        [tool_call("multiply", a=1, b=1), "best effort: 1"],
        ["2"],
        ["1"],
    )
    result = run(build_self_consistency_graph(model=model, tools=[multiply], samples=3, max_iterations=2), "?")
    limited = [seen for seen in model.seen if seen[-1].content == LIMIT_NOTE]
    assert len(limited) == 1 and calls == ["multiply(1,1)"]
    assert result["vote"] == {"key": "1", "counts": {"1": 2, "2": 1}, "winner": 0}
    assert result["messages"][-1].content == "best effort: 1"


def test_a_tool_error_becomes_the_samples_observation():
    model = answers(
        [tool_call("broken", x=3), tool_call("multiply", a=2, b=3), "6"],
        ["6"],
        ["5"],
    )
    result = run(build_self_consistency_graph(model=model, tools=[broken, multiply], samples=3), "2*3?")
    errors = [seen[-1] for seen in model.seen if isinstance(seen[-1], ToolMessage) and seen[-1].status == "error"]
    assert len(errors) == 1 and "broken cannot handle 3; try multiply instead" in errors[0].content
    assert result["vote"]["counts"] == {"6": 2, "5": 1}
    assert result["messages"][-1].content == "6"


def test_invalid_tool_arguments_are_reported_to_the_sample():
    model = answers(
        [tool_call("multiply", a="six", b=7), tool_call("multiply", a=6, b=7), "42"],
        ["42"],
    )
    result = run(build_self_consistency_graph(model=model, tools=[multiply], samples=2), "6*7?")
    errors = [seen[-1] for seen in model.seen if isinstance(seen[-1], ToolMessage) and seen[-1].status == "error"]
    assert len(errors) == 1 and "a: Input should be a valid integer" in errors[0].content
    assert calls == ["multiply(6,7)"]
    assert result["vote"]["counts"] == {"42": 2}


def test_one_sample_is_plain_react_on_the_model_as_given():
    script = [tool_call("multiply", a=6, b=7), "42"]
    model = SeededChatModel.seeded({5: script}, seed=5)
    result = run(build_self_consistency_graph(model=model, tools=[multiply], samples=1), "6*7?")
    plain = run(build_react_graph(model=ScriptedChatModel.script(script), tools=[multiply]), "6*7?")
    assert result["messages"][-1].content == plain["messages"][-1].content == "42"
    assert model.settings == [(0.0, 5), (0.0, 5)]  # no sampling copy: its own temperature and seed
    assert result["vote"] == {"key": "42", "counts": {"42": 1}, "winner": 0}


def test_an_unseeded_model_keeps_its_seed_unset():
    model = SeededChatModel.seeded({None: ["42", "42", "41"]}, seed=None)
    result = run(build_self_consistency_graph(model=model, tools=[], samples=3, temperature=1.0), "6*7?")
    assert model.settings == [(1.0, None)] * 3
    assert result["vote"]["counts"] == {"42": 2, "41": 1}


def test_a_model_without_a_temperature_field_is_used_as_is():
    model = ScriptedChatModel.script(["Paris."] * 3)
    result = run(build_self_consistency_graph(model=model, tools=[], samples=3), "Capital of France?")
    assert result["vote"] == {"key": "paris", "counts": {"paris": 3}, "winner": 0}
    assert len(model.seen) == 3


async def test_async_run_streams_each_sample_then_the_vote():
    model = answers([tool_call("multiply", a=6, b=7), "42"], ["42"], ["40"])
    graph = build_self_consistency_graph(model=model, tools=[multiply], samples=3)
    updates = [u async for u in graph.astream({"messages": [HumanMessage("6*7?")]}, stream_mode="updates")]
    assert [next(iter(u)) for u in updates] == ["sample", "sample", "sample", ANSWER_NODE]
    assert updates[-1][ANSWER_NODE]["vote"]["counts"] == {"42": 2, "40": 1}
    result = await build_self_consistency_graph(model=answers("7", "7"), tools=[], samples=2).ainvoke(
        {"messages": [HumanMessage("3+4?")]}
    )
    assert result["messages"][-1].content == "7"


def test_a_thread_resumes_with_history_and_votes_on_the_new_request_only():
    model = answers(["4", "12"], ["4", "12"], ["5", "The double is 12."])
    graph = build_self_consistency_graph(model=model, tools=[], samples=3, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    run(graph, "2+2?", config)
    second = run(graph, "and times 3?", config)
    assert [m.content for m in second["messages"]] == ["2+2?", "4", "and times 3?", "12"]
    assert [s["answer"] for s in second["samples"]] == ["12", "12", "The double is 12."]
    assert second["vote"] == {"key": "12", "counts": {"12": 3}, "winner": 0}
    # Every sample of the second request saw the whole conversation, with the voted first answer.
    latest = model.seen[-3:]
    assert all([m.content for m in seen] == ["2+2?", "4", "and times 3?"] for seen in latest)


def test_gated_tool_calls_pause_each_sample_and_resume_with_one_decision_each():
    model = answers(
        [tool_call("multiply", a=6, b=7), "42"],
        [tool_call("multiply", a=2, b=3), "Not allowed to multiply, so 40"],
        ["42"],
    )
    graph = build_self_consistency_graph(
        model=model, tools=[multiply], samples=3, approval={"multiply"}, checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "gated"}}
    paused = run(graph, "6*7?", config)
    pending = {i.id: i.value["calls"][0]["args"]["a"] for i in paused["__interrupt__"]}
    assert sorted(pending.values()) == [2, 6] and calls == []
    decide = {6: {"action": "approve"}, 2: {"action": "reject", "reason": "too easy"}}
    result = graph.invoke(Command(resume={i: decide[a] for i, a in pending.items()}), config)
    assert calls == ["multiply(6,7)"]
    refused = [seen[-1] for seen in model.seen if isinstance(seen[-1], ToolMessage) and seen[-1].status == "error"]
    assert len(refused) == 1 and "Their reason: too easy." in refused[0].content
    assert result["vote"]["counts"] == {"42": 2, "40": 1}
    assert result["messages"][-1].content == "42"
    assert len(model.seen) == 5  # no model call was repeated on resume


def test_graph_draws_as_mermaid():
    graph = build_self_consistency_graph(model=answers(), tools=[multiply])
    mermaid = graph.get_graph().draw_mermaid()
    for edge in ("__start__ -.-> sample", "sample --> vote", "vote --> __end__"):
        assert edge in mermaid


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"samples": 0}, "samples must be at least 1, got 0"),
        ({"samples": 3, "temperature": 0.0}, "temperature must be above 0 with 3 samples, got 0.0"),
        ({"max_iterations": 0}, "max_iterations must be at least 1, got 0"),
    ],
)
def test_limits_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_self_consistency_graph(model=answers(), tools=[], **kwargs)


def test_answer_message_is_ai_message():
    result = run(build_self_consistency_graph(model=answers("ok", "ok"), tools=[], samples=2), "hi")
    assert isinstance(result["messages"][-1], AIMessage)


def test_docstring_examples():
    assert doctest.testmod(mcploom.graphs.self_consistency).failed == 0
