"""The helpers the patterns share: sync/async drivers, the structured caller, text helpers."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from mcploom.graphs._shared import RETRY_NOTE, StructuredCaller, adrive, describe_tools, drive, request_text
from tests.fakes import ScriptedChatModel, structured


class Verdict(BaseModel):
    """A yes/no verdict."""

    ok: bool
    reason: str = Field(min_length=3)


def doubling() -> object:
    """Logic that asks twice, recovering from one ValueError."""
    total = 0
    for request in (1, 2):
        try:
            total += yield request
        except ValueError:
            total += 100
    return total


def test_drive_sends_replies_and_throws_errors_into_the_logic():
    def fail_first(n: int) -> int:
        if n == 1:
            raise ValueError("first")
        return n

    assert drive(doubling(), lambda n: n * 2) == 6
    assert drive(doubling(), fail_first) == 102
    with pytest.raises(KeyError):  # not handled by the logic: it propagates
        drive(doubling(), lambda n: {}[n])


async def test_adrive_does_the_same_with_async_calls():
    async def double(n: int) -> int:
        return n * 2

    async def fail(n: int) -> int:
        raise ValueError

    assert await adrive(doubling(), double) == 6
    assert await adrive(doubling(), fail) == 200


def test_structured_caller_returns_the_parsed_object():
    model = ScriptedChatModel.script([structured(Verdict, ok=True, reason="fine")])
    assert StructuredCaller(model, Verdict, retries=0).invoke([HumanMessage("ok?")]) == Verdict(ok=True, reason="fine")
    assert model.bound_tools == [["Verdict"]]


async def test_structured_caller_retries_then_gives_up_with_none():
    model = ScriptedChatModel.script(["yes", structured(Verdict, ok=True, reason="no")])
    caller = StructuredCaller(model, Verdict, retries=1)
    assert await caller.ainvoke([HumanMessage("ok?")]) is None
    retry = model.seen[1][-1].content
    assert retry == RETRY_NOTE.format(error="the reply did not call Verdict", schema="Verdict")


def test_structured_caller_lets_other_errors_propagate():
    class Down(ScriptedChatModel):
        def _generate(self, *args, **kwargs):
            raise ConnectionError("model server down")

    with pytest.raises(ConnectionError, match="model server down"):
        StructuredCaller(Down.script([]), Verdict, retries=3).invoke([HumanMessage("ok?")])


def test_request_text_is_the_latest_user_turn():
    assert request_text([HumanMessage("one"), AIMessage("1"), HumanMessage("two"), AIMessage("2")]) == "two"
    assert request_text([AIMessage("hi")]) == ""


def test_describe_tools_lists_first_description_lines():
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers.

        Longer notes the planner does not need.
        """
        return a + b

    assert describe_tools([add]) == "- add: Add two integers."
    assert describe_tools([]) == "(no tools)"
