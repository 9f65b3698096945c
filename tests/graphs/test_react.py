"""Control flow of the ReAct graph with a scripted model and plain Python tools."""

from __future__ import annotations

import time

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from mcploom.graphs.react import LIMIT_NOTE, build_react_graph
from tests.fakes import ScriptedChatModel, tool_call, tool_calls
from tests.graphs.tools import broken, calls, multiply, slow_echo


def run(graph, text: str, **config):
    return graph.invoke({"messages": [HumanMessage(text)]}, config or None)


def test_answers_directly_without_tools():
    model = ScriptedChatModel.script(["Paris."])
    result = run(build_react_graph(model=model, tools=[multiply]), "Capital of France?")
    assert result["messages"][-1].content == "Paris."
    assert result["iterations"] == 1
    assert calls == []


def test_tool_loop_feeds_observation_back_then_answers():
    model = ScriptedChatModel.script([tool_call("multiply", a=1234, b=5678), "7006652"])
    result = run(build_react_graph(model=model, tools=[multiply], system_prompt="Be exact."), "1234*5678?")
    kinds = [type(m).__name__ for m in result["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    assert result["messages"][2].content == "7006652"
    assert calls == ["multiply(1234,5678)"]
    # The system prompt reaches the model on every call but is not stored in the state.
    assert all(isinstance(seen[0], SystemMessage) and seen[0].content == "Be exact." for seen in model.seen)
    assert model.seen[1][-1].content == "7006652"
    assert model.bound_tools == [["multiply"]] * 2  # once as offered, once for a reply that must call one


def test_parallel_tool_calls_run_concurrently():
    model = ScriptedChatModel.script(
        [tool_calls(("slow_echo", {"text": "a"}), ("slow_echo", {"text": "b"}), ("slow_echo", {"text": "c"})), "done"]
    )
    graph = build_react_graph(model=model, tools=[slow_echo])
    started = time.perf_counter()
    result = run(graph, "echo three")
    elapsed = time.perf_counter() - started
    observations = [m.content for m in result["messages"] if isinstance(m, ToolMessage)]
    assert observations == ["a", "b", "c"]
    assert elapsed < 0.85, f"three 0.3 s calls took {elapsed:.2f} s: not run in parallel"


def test_tool_error_becomes_observation_and_loop_continues():
    model = ScriptedChatModel.script([tool_call("broken", x=3), tool_call("multiply", a=2, b=3), "6"])
    result = run(build_react_graph(model=model, tools=[broken, multiply]), "go")
    error = result["messages"][2]
    assert isinstance(error, ToolMessage) and error.status == "error"
    assert "broken cannot handle 3; try multiply instead" in error.content
    assert result["messages"][-1].content == "6"


def test_unknown_tool_is_reported_to_the_model():
    model = ScriptedChatModel.script([tool_call("nope", x=1), "sorry"])
    result = run(build_react_graph(model=model, tools=[multiply]), "go")
    assert "nope is not a valid tool" in result["messages"][2].content
    assert "multiply" in result["messages"][2].content


def test_max_iterations_forces_a_final_answer_without_tools():
    model = ScriptedChatModel.script([tool_call("multiply", a=1, b=1), tool_call("multiply", a=2, b=2), "best effort"])
    result = run(build_react_graph(model=model, tools=[multiply], max_iterations=3), "loop forever")
    assert result["messages"][-1].content == "best effort"
    assert result["iterations"] == 3
    assert model.seen[-1][-1].content == LIMIT_NOTE
    assert len(calls) == 2


def test_max_iterations_must_be_positive():
    with pytest.raises(ValueError, match="max_iterations must be at least 1, got 0"):
        build_react_graph(model=ScriptedChatModel.script([]), tools=[], max_iterations=0)


def test_thread_resumes_with_history_and_fresh_budget():
    model = ScriptedChatModel.script([tool_call("multiply", a=2, b=3), "6", "12"])
    graph = build_react_graph(model=model, tools=[multiply], checkpointer=InMemorySaver(), max_iterations=2)
    config = {"configurable": {"thread_id": "t1"}}
    run(graph, "2*3?", **config)
    second = run(graph, "and doubled?", **config)
    assert [m.content for m in second["messages"] if isinstance(m, HumanMessage)] == ["2*3?", "and doubled?"]
    assert second["messages"][-1].content == "12"
    assert second["iterations"] == 1


async def test_async_run_and_stream_show_intermediate_steps():
    model = ScriptedChatModel.script([tool_call("multiply", a=6, b=7), "42"])
    graph = build_react_graph(model=model, tools=[multiply])
    steps = [list(update) async for update in graph.astream({"messages": [HumanMessage("6*7")]}, stream_mode="updates")]
    assert steps == [["agent"], ["tools"], ["agent"]]


def test_graph_draws_as_mermaid():
    mermaid = build_react_graph(model=ScriptedChatModel.script([]), tools=[multiply]).get_graph().draw_mermaid()
    assert "agent" in mermaid and "tools" in mermaid


def test_answer_message_is_ai_message():
    result = run(build_react_graph(model=ScriptedChatModel.script(["ok"]), tools=[]), "hi")
    assert isinstance(result["messages"][-1], AIMessage)


# --- approval ---------------------------------------------------------------------------------


@tool
def delete_file(path: str) -> str:
    """Delete a file."""
    calls.append(f"delete_file({path})")
    return f"deleted {path}"


def gated_graph(model):
    return build_react_graph(
        model=model, tools=[multiply, delete_file], approval={"delete_file"}, checkpointer=InMemorySaver()
    )


def pause(graph, thread: str, text: str = "clean up"):
    config = {"configurable": {"thread_id": thread}}
    result = graph.invoke({"messages": [HumanMessage(text)]}, config)
    (pending,) = result["__interrupt__"]
    return config, pending.value


def test_gated_call_waits_for_approval_then_runs_once():
    model = ScriptedChatModel.script(
        [tool_calls(("multiply", {"a": 2, "b": 3}), ("delete_file", {"path": "a.txt"})), "done"]
    )
    graph = gated_graph(model)
    config, request = pause(graph, "t1")
    assert request["kind"] == "approval"
    assert [(c["name"], c["args"]) for c in request["calls"]] == [("delete_file", {"path": "a.txt"})]
    assert calls == []  # nothing of that turn ran before the decision, not even the ungated call
    result = graph.invoke(Command(resume={"action": "approve"}), config)
    assert sorted(calls) == ["delete_file(a.txt)", "multiply(2,3)"]
    assert result["messages"][-1].content == "done"
    assert len(model.seen) == 2  # resuming did not repeat the model call


def test_edit_runs_the_call_with_new_arguments_and_records_them():
    model = ScriptedChatModel.script([tool_call("delete_file", call_id="c1", path="/etc/passwd"), "ok"])
    graph = gated_graph(model)
    config, _ = pause(graph, "t2")
    result = graph.invoke(Command(resume={"c1": {"action": "edit", "args": {"path": "tmp.txt"}}}), config)
    assert calls == ["delete_file(tmp.txt)"]
    turn = next(m for m in result["messages"] if isinstance(m, AIMessage) and m.tool_calls)
    assert turn.tool_calls[0]["args"] == {"path": "tmp.txt"}


def test_reject_tells_the_model_and_runs_nothing():
    model = ScriptedChatModel.script([tool_call("delete_file", path="a.txt"), "I left it."])
    graph = gated_graph(model)
    config, _ = pause(graph, "t3")
    result = graph.invoke(Command(resume={"action": "reject", "reason": "keep it"}), config)
    assert calls == []
    observation = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    assert observation.status == "error"
    assert "did not approve" in observation.content and "keep it" in observation.content
    assert model.seen[-1][-1].content == observation.content
    assert result["messages"][-1].content == "I left it."


def test_a_mapping_that_leaves_a_call_out_rejects_it():
    model = ScriptedChatModel.script(
        [tool_calls(("delete_file", {"path": "a"}), ("delete_file", {"path": "b"})), "half done"]
    )
    graph = gated_graph(model)
    config, request = pause(graph, "t4")
    first, _ = (c["id"] for c in request["calls"])
    graph.invoke(Command(resume={first: {"action": "approve"}}), config)
    assert calls == ["delete_file(a)"]


def test_unknown_decision_is_an_error_that_names_the_choices():
    model = ScriptedChatModel.script([tool_call("delete_file", path="a"), "x"])
    graph = gated_graph(model)
    config, _ = pause(graph, "t5")
    with pytest.raises(ValueError, match="approve, edit or reject"):
        graph.invoke(Command(resume={"action": "yes"}), config)
    assert calls == []


async def test_async_approval_round_trip():
    model = ScriptedChatModel.script([tool_call("delete_file", path="a"), "gone"])
    graph = gated_graph(model)
    config = {"configurable": {"thread_id": "t6"}}
    paused = await graph.ainvoke({"messages": [HumanMessage("rm a")]}, config)
    assert paused["__interrupt__"]
    result = await graph.ainvoke(Command(resume={"action": "approve"}), config)
    assert calls == ["delete_file(a)"] and result["messages"][-1].content == "gone"


def test_ungated_calls_skip_the_approve_node_and_the_graph_draws():
    model = ScriptedChatModel.script([tool_call("multiply", a=2, b=2), "4"])
    graph = gated_graph(model)
    result = graph.invoke({"messages": [HumanMessage("2*2")]}, {"configurable": {"thread_id": "t7"}})
    assert "__interrupt__" not in result and result["messages"][-1].content == "4"
    assert "approve" in graph.get_graph().draw_mermaid()
    assert "approve" not in build_react_graph(model=model, tools=[multiply]).get_graph().nodes


def _unreadable(name: str, args: str, call_id: str | None = "bad_1") -> AIMessage:
    return AIMessage(
        "",
        invalid_tool_calls=[
            {"name": name, "args": args, "id": call_id, "error": "Unterminated string", "type": "invalid_tool_call"}
        ],
    )


@pytest.mark.parametrize("call_id", ["bad_1", None])
def test_a_call_that_does_not_parse_is_answered_and_the_model_asked_again(call_id):
    """Issue 11's silent empty answer: a turn whose only call did not parse used to end the run with ''."""
    model = ScriptedChatModel.script(
        [_unreadable("multiply", '{"a": 6, "b', call_id), tool_call("multiply", a=6, b=7), "42"]
    )
    result = run(build_react_graph(model=model, tools=[multiply]), "6*7?")
    kinds = [type(m).__name__ for m in result["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage", "ToolMessage", "AIMessage"]
    note = result["messages"][2]
    assert note.status == "error" and "Your call of multiply could not be read (Unterminated string)" in note.content
    assert note.tool_call_id == result["messages"][1].invalid_tool_calls[0]["id"]
    assert result["messages"][-1].content == "42" and calls == ["multiply(6,7)"]
    assert result["iterations"] == 3


def test_unreadable_calls_stay_within_the_budget():
    model = ScriptedChatModel.script(
        [_unreadable("multiply", "{"), _unreadable("multiply", "{"), "I could not call it."]
    )
    result = run(build_react_graph(model=model, tools=[multiply], max_iterations=3), "6*7?")
    assert result["messages"][-1].content == "I could not call it."
    assert model.seen[-1][-1].content == LIMIT_NOTE and result["iterations"] == 3


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("", "empty"),
        ("A 15% tip is ${result} euros.", "placeholder"),
        ("What is 6 times 7?", "repeats the question"),
        ("Error: ToolException('bad arguments for multiply: a must be a number')", "tool's error"),
        ("SELECT COUNT(*) FROM orders WHERE quantity = 5", "a query, not its result"),
        ("(123 + 456) * 7", "an expression, not its value"),
    ],
)
def test_a_reply_that_is_no_answer_is_sent_back_once_with_the_reason(bad, problem):
    model = ScriptedChatModel.script([tool_call("broken"), bad, "It is 42."])
    result = run(build_react_graph(model=model, tools=[broken]), "What is 6 times 7?")
    assert result["messages"][-1].content == "It is 42."
    note = model.seen[2][-1]
    assert isinstance(note, HumanMessage) and problem in note.content
    assert model.seen[2][-2].content == bad  # the model sees what it said
    assert not any(m.content == note.content for m in result["messages"])  # the note is not kept


def test_the_second_reply_stands_even_if_it_is_no_better():
    model = ScriptedChatModel.script(["", ""])
    result = run(build_react_graph(model=model, tools=[multiply]), "Hello?")
    assert result["messages"][-1].content == ""
    assert len(model.seen) == 2


def test_a_real_answer_is_not_sent_back():
    model = ScriptedChatModel.script([tool_call("multiply", a=6, b=7), "6 times 7 is 42."])
    run(build_react_graph(model=model, tools=[multiply]), "What is 6 times 7?")
    assert len(model.seen) == 2


def test_a_reply_that_copies_a_tool_description_is_sent_back():
    @tool
    def clock(zone: str) -> str:
        """Get the current date and time in a time zone."""
        return "12:00"

    model = ScriptedChatModel.script(
        ["The current date and time in a time zone.", tool_call("clock", zone="UTC"), "12:00"]
    )
    result = run(build_react_graph(model=model, tools=[clock]), "What time is it in UTC?")
    assert "description" in model.seen[1][-1].content
    assert result["messages"][-1].content == "12:00"


@pytest.mark.parametrize(
    ("made_up", "shown"),
    [("There are 15 products in that table.", "'15'"), ("The city with the most customers is: Tokyo", "'Tokyo'")],
)
def test_an_answer_with_a_value_no_tool_result_shows_is_sent_back(made_up, shown):
    model = ScriptedChatModel.script([tool_call("multiply", a=6, b=7), made_up, "It is 42."])
    result = run(build_react_graph(model=model, tools=[multiply]), "What is 6 times 7?")
    assert result["messages"][-1].content == "It is 42."
    assert f"gives {shown}, which no tool result shows" in model.seen[2][-1].content


@pytest.mark.parametrize(
    "answer", ["6 times 7 is 42.0, which Alice checked twice.", "It comes to about 42.", "6 times 7 is 42."]
)
def test_values_from_the_results_or_the_conversation_are_not_sent_back(answer):
    model = ScriptedChatModel.script([tool_call("multiply", a=6, b=7), answer])
    run(build_react_graph(model=model, tools=[multiply]), "Alice asks: what is 6 times 7?")
    assert len(model.seen) == 2


def test_an_answer_without_tool_calls_may_name_what_the_model_knows():
    model = ScriptedChatModel.script(["The capital of Japan is Tokyo, home to 14 million people."])
    run(build_react_graph(model=model, tools=[multiply]), "What is the capital of Japan?")
    assert len(model.seen) == 1


@tool
def compute(expression: str) -> str:
    """Evaluate an expression (answers as the calculator server does: a JSON object)."""
    return '{"expression": "0.15 * 86.40", "result": 12.96}'


def test_a_placeholder_naming_a_field_of_the_result_is_filled_without_a_second_reply():
    model = ScriptedChatModel.script([tool_call("compute", expression="0.15 * 86.40"), "A 15% tip is ${result} euros."])
    result = run(build_react_graph(model=model, tools=[compute]), "How much is a 15% tip on 86.40?")
    assert result["messages"][-1].content == "A 15% tip is 12.96 euros."
    assert len(model.seen) == 2


def test_a_placeholder_the_result_does_not_name_is_sent_back():
    model = ScriptedChatModel.script([tool_call("compute", expression="1"), "It is {{total}}.", "It is 12.96."])
    result = run(build_react_graph(model=model, tools=[compute]), "How much is a 15% tip on 86.40?")
    assert "placeholder '{{total}}'" in model.seen[2][-1].content
    assert result["messages"][-1].content == "It is 12.96."


def test_the_note_copied_into_the_second_reply_is_taken_out_of_it():
    model = ScriptedChatModel.script(
        [
            tool_call("multiply", a=6, b=7),
            "",
            "It is 42. Call a tool if you still need one, otherwise answer the user's question with the actual values.",
        ]
    )
    result = run(build_react_graph(model=model, tools=[multiply]), "What is 6 times 7?")
    assert result["messages"][-1].content == "It is 42."


@pytest.mark.parametrize(
    "said_back",
    [
        "The kettle boils in 4 minutes. How many minutes do 7 kettles take?",
        "How many minutes do 7 kettles take",
    ],
)
def test_the_question_said_back_with_small_changes_is_sent_back(said_back):
    model = ScriptedChatModel.script([tool_call("multiply", a=4, b=7), said_back, "They take 28 minutes."])
    question = "A kettle boils in 4 minutes. How many minutes do 7 kettles take?"
    result = run(build_react_graph(model=model, tools=[multiply]), question)
    assert "repeats the question" in model.seen[2][-1].content
    assert result["messages"][-1].content == "They take 28 minutes."


def test_a_short_answer_in_the_question_words_is_an_answer():
    model = ScriptedChatModel.script(["Ghent."])
    run(build_react_graph(model=model, tools=[multiply]), "Which city is larger, Ghent or Lyon?")
    assert len(model.seen) == 1


@tool
def lookup(topic: str) -> str:
    """Look a topic up in the handbook (answers with lines of it, as a search does)."""
    return "The handbook covers every trip.\nThe daily allowance is 62 euros.\nBook 14 days ahead."


def test_a_bare_tag_is_an_empty_reply():
    model = ScriptedChatModel.script([tool_call("multiply", a=6, b=7), "<tool_response>", "It is 42."])
    result = run(build_react_graph(model=model, tools=[multiply]), "What is 6 times 7?")
    assert "empty" in model.seen[2][-1].content
    assert result["messages"][-1].content == "It is 42."


@pytest.mark.parametrize(
    ("first", "act"),
    [
        ("What is 6 times 7?", "any"),  # the question said back: only a tool can mend it
        ("Error executing tool broken: broken cannot handle 6; try multiply instead", "any"),
        ("", None),  # an empty reply may be mended by answering from the results
    ],
)
def test_a_reply_only_a_tool_can_mend_is_sent_back_with_a_call_required(first, act):
    model = ScriptedChatModel.script([tool_call("broken", x=6), first, tool_call("multiply", a=6, b=7), "It is 42."])
    result = run(build_react_graph(model=model, tools=[broken, multiply]), "What is 6 times 7?")
    assert model.tool_choices[2] == act
    assert result["messages"][-1].content == "It is 42." and calls == ["multiply(6,7)"]


def test_a_copied_result_without_the_question_number_is_sent_back_to_work_it_in():
    copied = lookup.invoke({"topic": "trips"})
    model = ScriptedChatModel.script(
        [tool_call("lookup", topic="trips"), copied, tool_call("multiply", a=62, b=5), "310."]
    )
    result = run(build_react_graph(model=model, tools=[lookup, multiply]), "What is the allowance for a 5-day trip?")
    note = model.seen[2][-1].content
    assert "copies a tool result out, but the question's 5 is not in it" in note
    assert model.tool_choices[2] == "any" and result["messages"][-1].content == "310."


def test_a_copied_result_that_holds_the_question_numbers_is_an_answer():
    copied = lookup.invoke({"topic": "trips"})
    model = ScriptedChatModel.script([tool_call("lookup", topic="trips"), copied])
    run(
        build_react_graph(model=model, tools=[lookup]),
        "How many days ahead (14?) do I book, and what is the allowance?",
    )
    assert len(model.seen) == 2


def test_a_call_made_again_when_one_is_required_leaves_the_first_reply_standing():
    said_back = "What is 6 times 7?"
    model = ScriptedChatModel.script([tool_call("multiply", a=6, b=7), said_back, tool_call("multiply", a=6, b=7)])
    result = run(build_react_graph(model=model, tools=[multiply]), said_back)
    assert calls == ["multiply(6,7)"]  # not run again
    assert result["messages"][-1].content == said_back and len(model.seen) == 3


def test_the_question_said_back_after_a_result_is_sent_back_to_answer_from_it():
    model = ScriptedChatModel.script([tool_call("multiply", a=6, b=7), "What is 6 times 7?", "It is 42."])
    run(build_react_graph(model=model, tools=[multiply]), "What is 6 times 7?")
    assert "from the tool results" in model.seen[2][-1].content and model.tool_choices[2] is None


def test_a_reply_that_copies_the_system_prompt_is_sent_back():
    instructions = "The tool servers say about themselves: shop holds the tables customers and orders."
    model = ScriptedChatModel.script([tool_call("multiply", a=6, b=7), instructions, "It is 42."])
    result = run(build_react_graph(model=model, tools=[multiply], system_prompt=instructions), "What is 6 times 7?")
    assert "your instructions" in model.seen[2][-1].content and result["messages"][-1].content == "It is 42."


def test_a_query_written_out_after_it_ran_is_sent_back_with_its_result():
    model = ScriptedChatModel.script([tool_call("multiply", a=6, b=7), "SELECT 6 * 7 FROM numbers", "42."])
    run(build_react_graph(model=model, tools=[multiply]), "What is 6 times 7?")
    assert "It has run; its result was: 42 Answer with that value." in model.seen[2][-1].content


def test_a_month_or_weekday_read_off_a_result_is_founded():
    @tool
    def today() -> str:
        """Today's date."""
        return '{"date": "2026-07-04"}'

    model = ScriptedChatModel.script([tool_call("today"), "It is 2026-07-04, a Saturday in July."])
    run(build_react_graph(model=model, tools=[today]), "What is the date today?")
    assert len(model.seen) == 2


def test_a_bracketed_slot_is_a_placeholder():
    model = ScriptedChatModel.script(["The day of the week is [day].", "It is a Friday."])
    run(build_react_graph(model=model, tools=[multiply]), "What day of the week is 2026-12-25?")
    assert "placeholder '[day]'" in model.seen[1][-1].content


def test_a_query_written_out_twice_after_it_ran_gives_way_to_its_result():
    @tool
    def query(sql: str) -> str:
        """Run a query."""
        return '{"rows": [[4]]}'

    sql = "SELECT COUNT(*) FROM products WHERE category = 'tea'"
    model = ScriptedChatModel.script([tool_call("query", sql=sql), sql, sql])
    result = run(build_react_graph(model=model, tools=[query]), "How many tea products are there?")
    assert result["messages"][-1].content == '{"rows": [[4]]}'
