"""Elicitation against a real MCP server that asks mid-call: a handler's accept, decline and
cancel reach the server; without a handler none is offered; the terminal handler reads and
checks each field."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from langchain_core.tools import ToolException

from mcploom.agents.agent import Agent
from mcploom.agents.elicitation import ElicitationReply, ElicitationRequest, decline, terminal_handler
from mcploom.agents.mcp_client import MCPToolkit
from tests.agents.test_mcp_client import FIXTURES
from tests.fakes import ScriptedChatModel, tool_call

ASKER = {"asker": {"command": sys.executable, "args": [str(FIXTURES / "asker.py")]}}


async def _book(handler) -> tuple[str, list[ElicitationRequest]]:
    asked: list[ElicitationRequest] = []

    async def recording(request: ElicitationRequest) -> ElicitationReply:
        asked.append(request)
        return await handler(request)

    async with MCPToolkit(ASKER, elicitation=recording) as toolkit:
        return await toolkit.tools[0].ainvoke({"city": "Ghent"}), asked


async def test_an_accepted_request_gives_the_server_the_fields() -> None:
    async def accept(request: ElicitationRequest) -> ElicitationReply:
        return ElicitationReply("accept", {"nights": 3, "breakfast": True})

    result, asked = await _book(accept)
    assert result == "booked 3 nights in Ghent, breakfast True"
    assert asked[0].server == "asker" and asked[0].message == "How long do you stay in Ghent?"
    assert set(asked[0].schema["properties"]) == {"nights", "breakfast"} and asked[0].schema["required"] == ["nights"]


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_declined_or_cancelled_request_reaches_the_server_as_such(action) -> None:
    async def refuse(request: ElicitationRequest) -> ElicitationReply:
        return ElicitationReply(action)

    assert (await _book(refuse))[0] == f"not booked: {action}"


async def test_the_decline_handler_says_no() -> None:
    assert (await _book(decline))[0] == "not booked: decline"


async def test_without_a_handler_no_elicitation_is_offered() -> None:
    async with MCPToolkit(ASKER) as toolkit:
        with pytest.raises(ToolException, match="did not declare the form elicitation capability"):
            await toolkit.tools[0].ainvoke({"city": "Ghent"})


def test_an_agent_passes_its_handler_to_the_servers() -> None:
    async def accept(request: ElicitationRequest) -> ElicitationReply:
        return ElicitationReply("accept", {"nights": 2})

    model = ScriptedChatModel.script([tool_call("book", city="Lyon"), "Booked."])
    with Agent(model=model, servers=ASKER, checkpointer="memory", approval="never", elicitation=accept) as agent:
        result = agent.run("Book Lyon.")
    observation = next(m for m in result.messages if getattr(m, "tool_call_id", None) == "call_book")
    assert observation.content == "booked 2 nights in Lyon, breakfast False"


def _terminal(answers: list[str]) -> tuple[terminal_handler, list[str]]:
    lines: Iterator[str] = iter(answers)
    told: list[str] = []

    def ask(question: str) -> str:
        told.append(question)
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    return terminal_handler(ask, told.append), told


REQUEST = ElicitationRequest(
    "asker",
    "How long do you stay?",
    {
        "type": "object",
        "properties": {
            "nights": {"type": "integer", "title": "Nights"},
            "breakfast": {"type": "boolean", "default": False},
            "room": {"type": "string", "enum": ["single", "double"]},
        },
        "required": ["nights"],
    },
)


async def test_the_terminal_handler_asks_each_field_again_until_it_fits() -> None:
    handler, told = _terminal(["y", "", "three", "3", "y", "suite", "double"])
    reply = await handler(REQUEST)
    assert reply == ElicitationReply("accept", {"nights": 3, "breakfast": True, "room": "double"})
    assert "MCP server 'asker' asks: How long do you stay?" in told
    assert "Nights is required." in told and "'three' is not a whole number." in told
    assert "Answer one of: single, double." in told


@pytest.mark.parametrize(("answers", "action"), [(["n"], "decline"), (["c"], "cancel"), (["y", "2"], "cancel")])
async def test_the_terminal_handler_declines_or_cancels(answers, action) -> None:
    handler, _ = _terminal(answers)  # the last runs out of input mid-form: end of input cancels
    assert (await handler(REQUEST)).action == action


async def test_optional_fields_left_empty_take_their_default_or_stay_out() -> None:
    handler, _ = _terminal(["", "4", "", ""])
    assert await handler(REQUEST) == ElicitationReply("accept", {"nights": 4, "breakfast": False})
