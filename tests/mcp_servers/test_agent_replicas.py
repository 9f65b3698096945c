"""Two agent-server processes sharing one Postgres checkpointer: a conversation started on one
continues on the other, as behind a load balancer. The model is the real OpenAI SDK against a
scripted server on 127.0.0.1 (``tests/agents/wire_servers.py``), so no model is loaded."""

from __future__ import annotations

import sys

import pytest
from mcp import Client, StdioServerParameters

from tests.agents.wire_servers import OpenAIReply, ScriptedServer

from .conftest import REPO_ROOT, SERVER_ENV


def _replica(model: str, checkpointer: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcploom.mcp_servers.agent", "--model", model, "--checkpointer", checkpointer],
        cwd=str(REPO_ROOT),
        env=SERVER_ENV,
    )


@pytest.mark.postgres
async def test_a_thread_started_on_one_replica_continues_on_the_other(postgres_url: str) -> None:
    with ScriptedServer(OpenAIReply(text="Hello Ada."), OpenAIReply(text="Your name is Ada.")) as model_server:
        model = f"openai-compatible:{model_server.base_url}/v1#scripted"
        async with Client(_replica(model, postgres_url), read_timeout_seconds=120) as first:
            started = (await first.call_tool("ask", {"question": "My name is Ada."})).structured_content
        thread = started["thread"]
        assert started["answer"] == "Hello Ada." and thread
        async with Client(_replica(model, postgres_url), read_timeout_seconds=120) as second:
            continued = await second.call_tool("ask", {"question": "What is my name?", "thread": thread})
    assert continued.structured_content["answer"] == "Your name is Ada."
    assert continued.structured_content["thread"] == thread
    seen = [m["content"] for m in model_server.requests[1].body["messages"] if m["role"] in ("user", "assistant")]
    assert seen == ["My name is Ada.", "Hello Ada.", "What is my name?"]


async def test_a_server_that_keeps_no_threads_says_so() -> None:
    with ScriptedServer() as model_server:
        model = f"openai-compatible:{model_server.base_url}/v1#scripted"
        async with Client(_replica(model, "memory"), read_timeout_seconds=60) as client:
            result = await client.call_tool("ask", {"question": "hi", "thread": "abc"})
    assert result.is_error and "keeps no conversations" in result.content[0].text
