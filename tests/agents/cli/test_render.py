"""What the terminal shows for events: data in tool calls and results is printed as written, never
read as Rich markup; pattern progress uses the same one-line texts as the agent server."""

from __future__ import annotations

import io

from rich.console import Console

from mcploom.agents.cli.render import EventPrinter, ask_decisions
from mcploom.agents.describe import progress_text
from mcploom.agents.events import (
    Answer,
    ApprovalRequest,
    Critique,
    PendingCall,
    PlanUpdate,
    Token,
    ToolCall,
    ToolResult,
)


def printer(**kwargs):
    out, err = io.StringIO(), io.StringIO()
    consoles = (Console(file=out, width=200), Console(file=err, width=200))
    return EventPrinter(*consoles, answer_node="agent", **kwargs), out, err


def test_brackets_in_tool_data_are_printed_as_written():
    shown, _, err = printer()
    shown.show(ToolCall("query", {"sql": "SELECT '[bold]x'"}, "c1"))
    shown.show(ToolResult("query", "[[1, 2], [red]3[/red]]", "c1"))
    shown.show(ApprovalRequest([PendingCall("delete", {"path": "[y]es.txt"}, "c2")], "t"))
    text = err.getvalue()
    assert "→ query(sql=\"SELECT '[bold]x'\")" in text
    assert "← query: [[1, 2], [red]3[/red]]" in text
    assert "waiting for approval: delete(path='[y]es.txt')" in text


def test_progress_lines_are_the_shared_texts_and_quiet_hides_them():
    plan = PlanUpdate([{"id": 1, "task": "add [a] and b", "depends_on": []}])
    critique = Critique(1, 7, "Cite the source.")
    shown, _, err = printer()
    shown.show(plan)
    shown.show(critique)
    assert err.getvalue().splitlines() == [progress_text(plan), progress_text(critique)]
    assert progress_text(plan) == "Plan: 1. add [a] and b"
    quiet, _, err = printer(quiet=True)
    quiet.show(plan)
    assert err.getvalue() == ""


def test_answer_tokens_go_to_stdout_and_drafts_to_stderr():
    shown, out, err = printer()
    shown.show(Token("draft ", "generate"))
    shown.show(Token("It is [42].", "agent"))
    shown.show(Answer("It is [42].", {"input_tokens": 3, "output_tokens": 2}))
    assert out.getvalue() == "It is [42].\n"
    assert err.getvalue().startswith("draft \n") and "3 tokens in, 2 out" in err.getvalue()


def test_ask_decisions_asks_again_after_a_bad_answer():
    answers = iter(["maybe", "e", "not json", "e", '{"path": "b"}', "n", "too risky"])
    calls = [PendingCall("delete", {"path": "a"}, "c1"), PendingCall("delete", {"path": "c"}, "c2")]
    decisions = ask_decisions(calls, lambda question: next(answers))
    assert decisions == {
        "c1": {"action": "edit", "args": {"path": "b"}},
        "c2": {"action": "reject", "reason": "too risky"},
    }
