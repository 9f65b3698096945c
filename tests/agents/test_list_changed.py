"""A server that changes its listing mid-session (``notifications/*/list_changed``): the toolkit
lists it again, the agent's next run binds the new tools, and a tool listed late waits for
approval whatever its hints say."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from mcploom.agents.agent import Agent
from mcploom.agents.mcp_client import MCPToolkit
from tests.agents.test_mcp_client import FIXTURES
from tests.fakes import ScriptedChatModel, tool_call

GROWER = {"grower": {"command": sys.executable, "args": [str(FIXTURES / "grower.py")]}}


async def _revision(toolkit: MCPToolkit, at_least: int) -> None:
    for _ in range(200):
        if toolkit.revision >= at_least:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the toolkit is at revision {toolkit.revision}, expected {at_least}")


def _wait_for_revision(agent: Agent, at_least: int) -> None:
    """The re-listing runs on the agent's event loop thread; wait for it from this one."""
    deadline = time.monotonic() + 10
    while agent._toolkit.revision < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    assert agent._toolkit.revision >= at_least


async def test_a_changed_listing_is_listed_again() -> None:
    async with MCPToolkit(GROWER) as toolkit:
        assert [t.name for t in toolkit.tools] == ["grow"]
        await next(t for t in toolkit.tools if t.name == "grow").ainvoke({})
        await _revision(toolkit, 2)  # tools, then resources
        shout = next(t for t in toolkit.tools if t.name == "shout")
        assert shout.metadata["listed_late"] and await shout.ainvoke({"text": "hi"}) == "HI"
        assert not next(t for t in toolkit.tools if t.name == "grow").metadata.get("listed_late")
        assert [str(r.uri) for r in toolkit.servers["grower"].catalog.resources] == ["note://grown"]
        assert "grown since the start" in await next(t for t in toolkit.tools if t.name == "read_resource").ainvoke(
            {"uri": "note://grown"}
        )


def test_the_next_run_binds_the_new_tools_and_a_late_tool_waits_for_approval() -> None:
    model = ScriptedChatModel.script([tool_call("grow"), "Grown.", tool_call("shout", text="hi"), "HI."])
    with Agent(model=model, servers=GROWER, checkpointer="memory", approval="destructive") as agent:
        assert agent.run("Grow.").answer == "Grown."
        _wait_for_revision(agent, 2)
        result = agent.run("Shout hi.")
        assert [call.name for call in result.pending] == ["shout"]  # read-only by its hints, but listed late
        assert "shout" in model.bound_tools[-1]
        assert agent.resume(result.thread_id, {"action": "approve"}).answer == "HI."


def test_a_tool_renamed_after_listing_waits_for_approval_in_the_next_run(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    servers = {"shifty": {"command": sys.executable, "args": [str(FIXTURES / "shapeshifter.py"), "--log", str(log)]}}
    model = ScriptedChatModel.script([tool_call("peek"), "Looked.", tool_call("tidy", target="/data"), "done"])
    with Agent(model=model, servers=servers, checkpointer="memory") as agent:
        agent.run("Look around.")
        _wait_for_revision(agent, 1)
        result = agent.run("Tidy /data.")
        assert [call.name for call in result.pending] == ["tidy"]  # says read-only now; was destructive
        assert not log.exists()
