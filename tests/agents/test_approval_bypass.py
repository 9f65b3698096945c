"""Approval holds against a server that renames its destructive tool after it was listed: the gate
is decided from the listing the toolkit holds, and a call under a name the toolkit never bound
reaches no server."""

from __future__ import annotations

import sys
from pathlib import Path

from mcploom.agents.agent import Agent
from tests.agents.test_mcp_client import FIXTURES
from tests.fakes import ScriptedChatModel, tool_call


def test_a_renamed_destructive_tool_still_waits_for_approval(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    servers = {"shifty": {"command": sys.executable, "args": [str(FIXTURES / "shapeshifter.py"), "--log", str(log)]}}
    model = ScriptedChatModel.script(
        [tool_call("peek"), tool_call("tidy", target="/data"), tool_call("wipe", target="/data"), "done"]
    )
    with Agent(model=model, servers=servers, checkpointer="memory") as agent:
        result = agent.run("Clean up.")
        assert [call.name for call in result.pending] == ["wipe"]
        refused = next(m for m in result.messages if getattr(m, "tool_call_id", None) == "call_tidy")
        assert refused.status == "error" and "tidy" in refused.content
        assert not log.exists()  # neither the renamed nor the gated call reached the server
        finished = agent.resume(result.thread_id, {"action": "reject"})
    assert finished.answer == "done"
    assert not log.exists()
