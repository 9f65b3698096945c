"""Control flow of the debate graph with a scripted model (one script per speaker) and plain Python tools."""

from __future__ import annotations

import doctest
import re
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import Field

import mcploom.graphs.debate
from mcploom.graphs.debate import (
    ANSWER_NODE,
    DEFAULT_STANCES,
    Round,
    agreement_key,
    build_debate_graph,
    format_answer,
    tool_evidence,
)
from mcploom.graphs.react import LIMIT_NOTE, REJECTED_NOTE
from mcploom.graphs.types import DebateRound
from tests.fakes import ScriptedChatModel, tool_call
from tests.graphs.tools import calls, multiply

_DEBATER = re.compile(r"You are ([\w-]+), one of the debaters")


class DebateModel(ScriptedChatModel):
    """Replies from one script per speaker, so parallel debaters get their own replies in any order.

    The speaker is read from the system prompt: ``"You are <name>, one of the debaters"`` for a
    debater, ``"judge"`` for the judge. ``heard[speaker]`` records what each speaker was sent.
    """

    scripts: dict[str, Iterator[AIMessage]] = Field(default_factory=dict)
    heard: dict[str, list[list[BaseMessage]]] = Field(default_factory=dict)

    @classmethod
    def debate(cls, **scripts: Iterable[AIMessage | str]) -> DebateModel:
        return cls(
            messages=iter(()),
            scripts={
                speaker: iter([AIMessage(r) if isinstance(r, str) else r for r in replies])
                for speaker, replies in scripts.items()
            },
        )

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        match = _DEBATER.match(messages[0].text) if isinstance(messages[0], SystemMessage) else None
        speaker = match.group(1) if match else "judge"
        self.heard.setdefault(speaker, []).append(list(messages))
        return ChatResult(generations=[ChatGeneration(message=next(self.scripts[speaker]))])


def run(graph, text: str, config=None):
    return graph.invoke({"messages": [HumanMessage(text)]}, config)


def task_of(model: DebateModel, speaker: str, turn: int) -> str:
    """The task a debater's ReAct run started from in its ``turn``-th model call."""
    return model.heard[speaker][turn][1].text


def judge_prompt(model: DebateModel) -> str:
    return model.heard["judge"][-1][0].text


def test_agreement_in_round_one_ends_with_the_first_debaters_answer_and_no_judge_call():
    model = DebateModel.debate(proposer=["17 * 23 = 391, plus 4.\nAnswer: 395"], critic=["395"])
    result = run(build_debate_graph(model=model), "What is 17 * 23 + 4?")
    assert result["messages"][-1].content == "17 * 23 = 391, plus 4.\nAnswer: 395"
    assert [type(m).__name__ for m in result["messages"]] == ["HumanMessage", "AIMessage"]
    assert result["rounds"] == [
        Round(
            round=1,
            answers={"proposer": "17 * 23 = 391, plus 4.\nAnswer: 395", "critic": "395"},
            evidence={},
            agreed=True,
        )
    ]
    # Round 1: each debater gets the request alone, under its own stance.
    for name, stance in DEFAULT_STANCES.items():
        system, task = model.heard[name][0]
        assert system.text.startswith(f"You are {name}, one of the debaters") and stance in system.text
        assert task.text == "What is 17 * 23 + 4?"
    # The answers agree: nothing is left to judge, so the judge makes no model call.
    assert "judge" not in model.heard
    assert len(model.seen) == 2


def test_disagreement_is_revised_with_each_debater_seeing_the_others():
    model = DebateModel.debate(
        proposer=["Answer: 409", "The critic is right.\nAnswer: 395"],
        critic=["Answer: 395", "Answer: 395"],
    )
    result = run(build_debate_graph(model=model), "What is 17 * 23 + 4?")
    assert [(r["round"], r["agreed"]) for r in result["rounds"]] == [(1, False), (2, True)]
    assert result["rounds"][0]["answers"] == {"proposer": "Answer: 409", "critic": "Answer: 395"}
    assert task_of(model, "proposer", 1).startswith(
        "Request: What is 17 * 23 + 4?\n\nYour previous answer:\nAnswer: 409\n\n"
        "The other debaters answered:\n- critic: Answer: 395\n\nCheck their answers and yours."
    )
    critic_task = task_of(model, "critic", 1)
    assert (
        "Your previous answer:\nAnswer: 395\n\nThe other debaters answered:\n- proposer: Answer: 409\n\n" in critic_task
    )
    assert "- critic:" not in critic_task
    assert "judge" not in model.heard
    assert result["messages"][-1].content == "The critic is right.\nAnswer: 395"
    assert len(model.seen) == 4


def test_max_rounds_without_agreement_leaves_the_judge_both_answers():
    model = DebateModel.debate(proposer=["Yes.", "Yes, still."], critic=["No.", "No, still."], judge=["It depends."])
    result = run(build_debate_graph(model=model, max_rounds=2), "Is a hot dog a sandwich?")
    assert [(r["round"], r["agreed"]) for r in result["rounds"]] == [(1, False), (2, False)]
    prompt = judge_prompt(model)
    assert "The debaters did not agree in 2 rounds" in prompt
    assert "- proposer: Yes, still.\n- critic: No, still." in prompt
    assert prompt.startswith("You judge a debate about the user's request.")
    assert [m.text for m in model.heard["judge"][0][1:]] == ["Is a hot dog a sandwich?"]
    assert len(model.heard["judge"]) == 1
    assert result["messages"][-1].content == "It depends."


def test_one_round_is_independent_answers_and_a_judge():
    model = DebateModel.debate(proposer=["A"], critic=["B"], judge=["A"])
    result = run(build_debate_graph(model=model, max_rounds=1), "go")
    assert len(result["rounds"]) == 1 and "did not agree in 1 round:" in judge_prompt(model)
    assert "- proposer: A\n- critic: B" in judge_prompt(model)
    assert result["messages"][-1].content == "A"


def test_empty_answers_do_not_count_as_agreement():
    # Each empty reply is sent back once (the answer check), so each debater turn takes two.
    model = DebateModel.debate(proposer=[""] * 4, critic=[""] * 4, judge=["no answer"])
    result = run(build_debate_graph(model=model, max_rounds=2), "go")
    assert [r["agreed"] for r in result["rounds"]] == [False, False]
    assert "The debaters did not agree in 2 rounds" in judge_prompt(model)
    assert result["messages"][-1].content == "no answer"


def test_a_debater_calls_a_tool_and_the_others_see_its_results():
    model = DebateModel.debate(
        proposer=[tool_call("multiply", a=17, b=23), "Answer: 391", "Answer: 391"],
        critic=["Answer: 400", "You are right.\nAnswer: 391"],
    )
    result = run(build_debate_graph(model=model, tools=[multiply]), "What is 17 * 23?")
    assert calls == ["multiply(17,23)"]
    assert model.bound_tools == [["multiply"]] * 4  # each debater binds them as asked and for a call it must make
    observation = model.heard["proposer"][1][-1]
    assert isinstance(observation, ToolMessage) and observation.content == "391"
    assert result["rounds"][0]["evidence"] == {"proposer": ["multiply(a=17, b=23) -> 391"]}
    assert "- proposer: Answer: 391\n  Tool results: multiply(a=17, b=23) -> 391" in task_of(model, "critic", 1)
    assert "Your previous answer:\nAnswer: 391\n  Tool results: multiply(a=17, b=23) -> 391" in task_of(
        model, "proposer", 2
    )
    # Debater work stays in the subgraphs: the conversation is the request and the answer.
    assert [type(m).__name__ for m in result["messages"]] == ["HumanMessage", "AIMessage"]
    assert result["messages"][-1].content == "Answer: 391" and "judge" not in model.heard


def test_a_failing_tool_call_is_evidence_too():
    model = DebateModel.debate(
        proposer=[tool_call("multiply", a="x", b=2), "I could not compute it."],
        critic=["I could not compute it."],
    )
    result = run(build_debate_graph(model=model, tools=[multiply]), "x * 2?")
    (evidence,) = result["rounds"][0]["evidence"]["proposer"]
    assert evidence.startswith("multiply(a='x', b=2) failed: ")
    assert result["messages"][-1].content == "I could not compute it." and "judge" not in model.heard


def test_max_iterations_limit_each_debater_loop():
    model = DebateModel.debate(proposer=[tool_call("multiply", a=1, b=1), "Answer: 1"], critic=["Answer: 1"])
    result = run(build_debate_graph(model=model, tools=[multiply], max_iterations=2), "1*1?")
    assert calls == ["multiply(1,1)"] and result["rounds"][0]["agreed"]
    assert model.heard["proposer"][1][-1].content == LIMIT_NOTE
    assert result["messages"][-1].content == "Answer: 1" and "judge" not in model.heard


def test_custom_stream_carries_a_debate_round_after_each_round():
    model = DebateModel.debate(proposer=["Answer: 409", "Answer: 395"], critic=["Answer: 395", "395"])
    graph = build_debate_graph(model=model)
    progress = list(graph.stream({"messages": [HumanMessage("17 * 23 + 4?")]}, stream_mode="custom"))
    assert progress == [
        DebateRound(round=1, answers={"proposer": "Answer: 409", "critic": "Answer: 395"}, agreed=False),
        DebateRound(round=2, answers={"proposer": "Answer: 395", "critic": "395"}, agreed=True),
    ]
    assert progress[1].summary() == "Debate round 2 (agreed): proposer: Answer: 395; critic: 395"


def test_updates_stream_shows_the_debaters_the_moderator_and_the_judge():
    model = DebateModel.debate(proposer=["A", "B"], critic=["B", "B"])
    updates = list(build_debate_graph(model=model).stream({"messages": [HumanMessage("go")]}, stream_mode="updates"))
    names = [next(iter(u)) for u in updates]
    assert len(names) == 7
    assert sorted(names[:2]) == ["critic", "proposer"] and sorted(names[3:5]) == ["critic", "proposer"]
    assert [names[2], names[5], names[6]] == ["moderator", "moderator", "judge"]
    # The agreed answer still comes from the judge node, without a judge model call.
    (answer,) = updates[6]["judge"]["messages"]
    assert isinstance(answer, AIMessage) and answer.content == "B" and "judge" not in model.heard


def test_answer_tokens_stream_from_the_judge_when_the_debaters_disagree():
    model = DebateModel.debate(proposer=["4"], critic=["5"], judge=["the final answer"])
    graph = build_debate_graph(model=model, max_rounds=1)
    tokens = [
        chunk.content
        for chunk, meta in graph.stream({"messages": [HumanMessage("2+2?")]}, stream_mode="messages")
        if meta["langgraph_node"] == ANSWER_NODE and chunk.content
    ]
    assert tokens == ["the ", "final ", "answer"]
    assert len(model.heard["judge"]) == 1


def test_an_agreed_answer_arrives_whole_from_the_judge_with_no_tokens():
    model = DebateModel.debate(proposer=["Answer: 4"], critic=["4"])
    graph = build_debate_graph(model=model)
    from_judge = [
        chunk
        for chunk, meta in graph.stream({"messages": [HumanMessage("2+2?")]}, stream_mode="messages")
        if meta["langgraph_node"] == ANSWER_NODE
    ]
    assert [(type(chunk).__name__, chunk.content) for chunk in from_judge] == [("AIMessage", "Answer: 4")]
    assert "judge" not in model.heard


async def test_async_debate_revises_and_streams_its_rounds():
    model = DebateModel.debate(
        proposer=[tool_call("multiply", a=6, b=7), "Answer: 42", "Answer: 42"],
        critic=["Answer: 43", "Answer: 42"],
    )
    graph = build_debate_graph(model=model, tools=[multiply])
    chunks = [c async for c in graph.astream({"messages": [HumanMessage("6*7?")]}, stream_mode=["custom", "values"])]
    progress = [chunk for mode, chunk in chunks if mode == "custom"]
    assert [(p.round, p.agreed) for p in progress] == [(1, False), (2, True)]
    final = [chunk for mode, chunk in chunks if mode == "values"][-1]
    assert final["messages"][-1].content == "Answer: 42" and calls == ["multiply(6,7)"]
    assert "judge" not in model.heard
    assert "- proposer: Answer: 42\n  Tool results: multiply(a=6, b=7) -> 42" in task_of(model, "critic", 1)


async def test_async_invoke():
    model = DebateModel.debate(proposer=["Paris"], critic=["**Paris**."])
    result = await build_debate_graph(model=model).ainvoke({"messages": [HumanMessage("Capital of France?")]})
    assert result["rounds"][0]["agreed"] and result["messages"][-1].content == "Paris"
    assert "judge" not in model.heard


async def test_async_judge_answers_when_the_debaters_disagree():
    model = DebateModel.debate(proposer=["Paris"], critic=["Lyon"], judge=["Paris."])
    graph = build_debate_graph(model=model, max_rounds=1)
    result = await graph.ainvoke({"messages": [HumanMessage("Capital of France?")]})
    assert not result["rounds"][0]["agreed"] and result["messages"][-1].content == "Paris."
    assert "did not agree in 1 round:" in judge_prompt(model) and "- proposer: Paris\n- critic: Lyon" in judge_prompt(
        model
    )


def test_a_new_request_on_a_thread_starts_a_new_debate():
    model = DebateModel.debate(
        proposer=["Answer: 409", "Answer: 395", "Answer: Paris", "Yes.", "Yes, still."],
        critic=["Answer: 395", "Answer: 395", "Answer: Paris", "No.", "No, still."],
        judge=["It depends."],
    )
    graph = build_debate_graph(model=model, max_rounds=2, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    assert len(run(graph, "17 * 23 + 4?", config)["rounds"]) == 2
    result = run(graph, "Capital of France?", config)
    assert result["rounds"] == [
        Round(round=1, answers={"proposer": "Answer: Paris", "critic": "Answer: Paris"}, evidence={}, agreed=True)
    ]
    assert result["answers"] == []
    assert [m.content for m in result["messages"]] == [
        "17 * 23 + 4?",
        "Answer: 395",
        "Capital of France?",
        "Answer: Paris",
    ]
    # The new round 1 debates the new request alone.
    assert task_of(model, "proposer", 2) == "Capital of France?"
    assert "judge" not in model.heard
    # A third request that is not agreed: the judge sees the whole conversation.
    result = run(graph, "Is a hot dog a sandwich?", config)
    assert [(r["round"], r["agreed"]) for r in result["rounds"]] == [(1, False), (2, False)]
    assert task_of(model, "proposer", 3) == "Is a hot dog a sandwich?"
    assert [m.text for m in model.heard["judge"][0][1:]] == [
        "17 * 23 + 4?",
        "Answer: 395",
        "Capital of France?",
        "Answer: Paris",
        "Is a hot dog a sandwich?",
    ]
    assert len(model.heard["judge"]) == 1 and result["messages"][-1].content == "It depends."


def test_approval_pauses_the_debater_and_resume_continues_without_repeating_calls():
    model = DebateModel.debate(proposer=[tool_call("multiply", a=6, b=7), "Answer: 42"], critic=["Answer: 42"])
    graph = build_debate_graph(model=model, tools=[multiply], approval={"multiply"}, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "gated"}}
    paused = run(graph, "6*7?", config)
    (pending,) = paused["__interrupt__"]
    assert pending.value["kind"] == "approval" and pending.value["calls"][0]["args"] == {"a": 6, "b": 7}
    assert calls == [] and not paused.get("rounds")
    result = graph.invoke(Command(resume={"action": "approve"}), config)
    assert calls == ["multiply(6,7)"]
    assert result["messages"][-1].content == "Answer: 42" and result["rounds"][0]["agreed"]
    assert "judge" not in model.heard
    assert len(model.seen) == 3  # every script used once: the critic's finished answer was not asked again


def test_debaters_pausing_together_get_one_interrupt_each():
    model = DebateModel.debate(
        proposer=[tool_call("multiply", a=6, b=7), "Answer: 42"],
        critic=[tool_call("multiply", a=2, b=3), "Answer: 42"],
    )
    graph = build_debate_graph(model=model, tools=[multiply], approval={"multiply"}, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "both"}}
    pending = run(graph, "6*7?", config)["__interrupt__"]
    by_a = {i.value["calls"][0]["args"]["a"]: i for i in pending}
    assert sorted(by_a) == [2, 6] and calls == []
    result = graph.invoke(Command(resume={by_a[6].id: {"action": "approve"}, by_a[2].id: {"action": "reject"}}), config)
    assert calls == ["multiply(6,7)"]
    refused = REJECTED_NOTE.format(name="multiply", reason="")
    assert result["rounds"][0]["evidence"] == {
        "proposer": ["multiply(a=6, b=7) -> 42"],
        "critic": [f"multiply(a=2, b=3) failed: {refused}"],
    }
    assert result["messages"][-1].content == "Answer: 42" and "judge" not in model.heard
    assert len(model.seen) == 4


async def test_async_approval_resumes():
    model = DebateModel.debate(proposer=[tool_call("multiply", a=2, b=2), "Answer: 4"], critic=["Answer: 4"])
    graph = build_debate_graph(model=model, tools=[multiply], approval={"multiply"}, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "async"}}
    paused = await graph.ainvoke({"messages": [HumanMessage("2*2?")]}, config)
    assert paused["__interrupt__"]
    result = await graph.ainvoke(Command(resume={"action": "approve"}), config)
    assert result["messages"][-1].content == "Answer: 4" and calls == ["multiply(2,2)"]
    assert "judge" not in model.heard


def test_custom_stances_and_instructions_reach_every_debater_and_the_judge():
    stances = {"optimist": "You look on the bright side.", "pessimist": "You expect the worst.", "realist": "Facts."}
    model = DebateModel.debate(optimist=["yes"], pessimist=["no"], realist=["Maybe."], judge=["Maybe."])
    graph = build_debate_graph(model=model, stances=stances, system_prompt="Answer in one word.", max_rounds=1)
    result = run(graph, "Will it work?")
    assert list(result["rounds"][0]["answers"]) == ["optimist", "pessimist", "realist"]
    for name, stance in stances.items():
        system = model.heard[name][0][0].text
        assert stance in system and system.endswith("Additional instructions:\nAnswer in one word.")
    prompt = judge_prompt(model)
    assert "- optimist: yes\n- pessimist: no\n- realist: Maybe." in prompt
    assert prompt.endswith("Additional instructions:\nAnswer in one word.")
    assert result["messages"][-1].content == "Maybe."
    mermaid = graph.get_graph().draw_mermaid()
    assert all(f"{name} --> moderator" in mermaid for name in stances)


def test_three_debaters_each_see_the_two_others():
    stances = {"a": "First.", "b": "Second.", "c": "Third."}
    model = DebateModel.debate(a=["1", "3"], b=["2", "3"], c=["3", "3"])
    result = run(build_debate_graph(model=model, stances=stances), "go")
    assert "The other debaters answered:\n- a: 1\n- c: 3\n\n" in task_of(model, "b", 1)
    assert result["messages"][-1].content == "3" and "judge" not in model.heard


def test_an_agreed_answer_is_the_first_debaters_in_stances_order():
    stances = {"mid": "You propose.", "zed": "You check.", "amy": "You doubt."}
    model = DebateModel.debate(mid=["It is the capital.\nAnswer: **Paris**."], zed=["Answer: Paris"], amy=["paris"])
    result = run(build_debate_graph(model=model, stances=stances), "Capital of France?")
    assert [(r["round"], r["agreed"]) for r in result["rounds"]] == [(1, True)]
    # Not the alphabetically first (amy) nor the last in stances order (amy): the first, mid.
    assert result["messages"][-1].content == "It is the capital.\nAnswer: **Paris**."
    assert isinstance(result["messages"][-1], AIMessage) and "judge" not in model.heard


def test_graph_draws_as_mermaid():
    mermaid = build_debate_graph(model=DebateModel.debate()).get_graph().draw_mermaid()
    for edge in (
        "__start__ -.-> proposer",
        "__start__ -.-> critic",
        "proposer --> moderator",
        "critic --> moderator",
        "moderator -.-> proposer",
        "moderator -.-> critic",
        "moderator -.-> judge",
        "judge --> __end__",
    ):
        assert edge in mermaid


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stances": {"solo": "You answer."}}, "At stances: a debate needs at least 2 debaters, got 1 ('solo'). Add"),
        ({"stances": {}}, "At stances: a debate needs at least 2 debaters, got 0"),
        (
            {"stances": ["proposer", "critic"]},
            "At stances: expected a mapping of debater name to stance text, got list",
        ),
        ({"stances": {"two words": "x", "b": "y"}}, "At stances['two words']: a debater's name must be one word"),
        ({"stances": {"judge": "x", "b": "y"}}, "At stances['judge']: a debater's name must be one word"),
        ({"stances": {"a": "x", "rounds": "y"}}, "At stances['rounds']: a debater's name"),
        ({"stances": {"a": "x", "9lives": "y"}}, "starting with a letter, and not one of"),
        ({"stances": {"a": "x", "b": " "}}, "At stances['b']: the stance must be a non-empty string, got ' '."),
        ({"stances": {"a": "x", "b": None}}, "At stances['b']: the stance must be a non-empty string, got None."),
        ({"max_rounds": 0}, "At max_rounds: must be at least 1, got 0. Use 1 for independent answers"),
        ({"max_iterations": 0}, "At max_iterations: must be at least 1, got 0."),
    ],
)
def test_bad_options_raise_with_where_what_and_the_fix(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build_debate_graph(model=DebateModel.debate(), **kwargs)


def test_agreement_key_reads_the_answer_line_else_the_whole_answer():
    assert agreement_key("First I thought 409, but 17 * 23 = 391.\nAnswer: 395") == "395"
    assert agreement_key("ANSWER: **Canberra**.") == agreement_key("canberra") == "canberra"
    assert agreement_key("The answer is 42, final answer: 43") == "43"
    assert agreement_key("") == ""


def test_tool_evidence_clips_long_results_and_keeps_the_last_calls():
    turns: list[BaseMessage] = [HumanMessage("go")]
    for i in range(6):
        turns += [tool_call("search", f"c{i}", query=str(i)), ToolMessage("x" * 1000, tool_call_id=f"c{i}")]
    evidence = tool_evidence([*turns, AIMessage("done")])
    assert [e.split(")")[0] for e in evidence] == [
        "search(query='2'",
        "search(query='3'",
        "search(query='4'",
        "search(query='5'",
    ]
    assert all(len(e) < 340 and e.endswith("...") for e in evidence)
    assert tool_evidence([HumanMessage("go"), AIMessage("no tools")]) == []
    assert format_answer("42", []) == "42"


def test_docstring_examples():
    assert doctest.testmod(mcploom.graphs.debate).failed == 0
