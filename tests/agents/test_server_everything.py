"""The toolkit against the MCP reference server ``@modelcontextprotocol/server-everything`` (npx),
over stdio, streamable HTTP and legacy HTTP+SSE (declared, and found by falling back from
streamable HTTP): resources (text, binary, templates, links in tool results),
prompts with arguments, an image result as text-only models see it, and a long tool's progress
notifications streamed into the run.

Needs ``npx`` (the package is downloaded on first use and cached by npm); skipped without it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import pytest_asyncio
from langchain_core.messages import HumanMessage
from langchain_core.tools import BaseTool

from mcploom.agents.agent import Agent
from mcploom.agents.errors import ServerRequestError
from mcploom.agents.events import ToolProgress, ToolResult
from mcploom.agents.mcp_client import MCPToolkit
from mcploom.agents.mcp_content import contents_text, prompt_messages
from mcploom.graphs._loop import build_react_loop
from tests.fakes import ScriptedChatModel, tool_call
from tests.net import free_port, stop, wait_listening

pytestmark = [
    pytest.mark.npx,
    pytest.mark.skipif(shutil.which("npx") is None, reason="npx is not installed (Node.js needed)"),
    pytest.mark.asyncio(loop_scope="module"),
]

EVERYTHING = ["npx", "-y", "@modelcontextprotocol/server-everything"]


@contextmanager
def everything_over_http(mode: str, path: str) -> Iterator[str]:
    port = free_port()
    with (
        tempfile.TemporaryFile() as log,
        subprocess.Popen([*EVERYTHING, mode], env={**_env(), "PORT": str(port)}, stdout=log, stderr=log) as process,
    ):
        try:
            wait_listening(port, process, log, "server-everything", timeout=120)
            yield f"http://127.0.0.1:{port}{path}"
        finally:
            stop(process)


def _env() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if key in {"HOME", "PATH", "USER", "TERM"}}


@pytest.fixture(scope="module", params=["stdio", "streamable-http", "sse", "sse-detected"])
def everything(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    if request.param == "stdio":
        yield {"everything": {"command": EVERYTHING[0], "args": EVERYTHING[1:]}}
    elif request.param == "streamable-http":
        with everything_over_http("streamableHttp", "/mcp") as url:
            yield {"everything": {"url": url}}
    else:
        declared = {"type": "sse"} if request.param == "sse" else {}
        with everything_over_http("sse", "/sse") as url:
            yield {"everything": {"url": url, **declared}}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def toolkit(everything: dict[str, Any]) -> AsyncIterator[MCPToolkit]:
    async with MCPToolkit(everything, start_timeout=120) as toolkit:
        yield toolkit


def tool(toolkit: MCPToolkit, name: str) -> BaseTool:
    return next(t for t in toolkit.tools if t.name == name)


async def test_the_transport_in_use_is_reported(toolkit: MCPToolkit, everything: dict[str, Any]) -> None:
    entry = everything["everything"]
    expected = "stdio" if "command" in entry else "sse" if entry["url"].endswith("/sse") else "streamable-http"
    assert toolkit.servers["everything"].transport == expected
    assert "Echo: hi" in await tool(toolkit, "echo").ainvoke({"message": "hi"})


async def test_resources_and_templates_are_listed(toolkit: MCPToolkit) -> None:
    catalog = toolkit.servers["everything"].catalog
    uris = [str(resource.uri) for resource in catalog.resources]
    assert "demo://resource/static/document/architecture.md" in uris
    assert {t.uri_template for t in catalog.templates} >= {"demo://resource/dynamic/text/{resourceId}"}
    assert "demo://resource/static/document/architecture.md" in tool(toolkit, "read_resource").description


async def test_text_and_binary_resources_are_read(toolkit: MCPToolkit) -> None:
    text = await toolkit.read_resource("demo://resource/static/document/architecture.md")
    assert contents_text(text.contents).startswith("# Everything Server")
    read = tool(toolkit, "read_resource")
    assert "Resource 3" in await read.ainvoke({"uri": "demo://resource/dynamic/text/3"})
    blob = await read.ainvoke({"uri": "demo://resource/dynamic/blob/3"})
    assert blob.startswith("[binary resource demo://resource/dynamic/blob/3 (") and "left out" in blob


async def test_a_resource_link_in_a_tool_result_can_be_followed(toolkit: MCPToolkit) -> None:
    links = await tool(toolkit, "get-resource-links").ainvoke({"count": 2})
    linked = [line.split()[2] for line in links.splitlines() if line.startswith("[resource link: ")]
    assert len(linked) == 2
    assert await tool(toolkit, "read_resource").ainvoke({"uri": linked[0]})


async def test_an_image_result_is_a_stand_in_for_text_models(toolkit: MCPToolkit) -> None:
    text = await tool(toolkit, "get-tiny-image").ainvoke({})
    assert "[image (image/png, " in text and "base64" not in text.lower()


async def test_prompts_take_their_arguments(toolkit: MCPToolkit) -> None:
    result = await toolkit.get_prompt("everything", "args-prompt", {"city": "Ghent"})
    assert "Ghent" in prompt_messages(result)[0].text
    with pytest.raises(ServerRequestError, match="lacks city; it takes: city, state \\(optional\\)"):
        await toolkit.get_prompt("everything", "args-prompt", {"state": "Flanders"})
    simple = prompt_messages(await toolkit.get_prompt("everything", "simple-prompt"))
    assert simple and simple[0].text


async def test_a_long_tool_streams_its_progress_into_the_run(toolkit: MCPToolkit) -> None:
    name = "trigger-long-running-operation"
    model = ScriptedChatModel.script([tool_call(name, duration=0.3, steps=3), "Done."])
    graph = build_react_loop(model=model, tools=toolkit.tools)
    events = [
        item
        async for mode, item in graph.astream({"messages": [HumanMessage("go")]}, stream_mode=["custom", "updates"])
        if mode == "custom"
    ]
    assert events == [ToolProgress(tool=name, server="everything", progress=step, total=3) for step in (1, 2, 3)]
    assert events[-1].summary() == f"… {name} (everything): 3/3"


async def test_a_long_tool_called_by_hand_runs_without_a_progress_listener(toolkit: MCPToolkit) -> None:
    assert "completed" in await tool(toolkit, "trigger-long-running-operation").ainvoke({"duration": 0.2, "steps": 2})


async def test_server_log_messages_reach_python_logging_at_their_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="mcploom.mcp.logger")
    servers = {"logger": {"command": EVERYTHING[0], "args": EVERYTHING[1:]}}
    async with MCPToolkit(servers, start_timeout=120, log_level="debug") as toolkit:
        await tool(toolkit, "toggle-simulated-logging").ainvoke({})
        deadline = time.monotonic() + 30  # it logs one message at a random level every 5 s
        while not any(r.name == "mcploom.mcp.logger" for r in caplog.records) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    record = next(r for r in caplog.records if r.name == "mcploom.mcp.logger")
    sent_at = record.getMessage().split("-")[0].lower()  # "Notice-level message"
    python_level = {"debug": 10, "info": 20, "notice": 20, "warning": 30, "error": 40}.get(sent_at, 50)
    assert record.levelno == python_level


async def test_an_agent_run_streams_the_progress_events() -> None:
    name = "trigger-long-running-operation"
    model = ScriptedChatModel.script([tool_call(name, duration=0.2, steps=2), "Done."])
    servers = {"everything": {"command": EVERYTHING[0], "args": EVERYTHING[1:]}}
    async with Agent(model=model, servers=servers, checkpointer="memory") as agent:
        events = [event async for event in agent.astream("Run the long operation.")]
    progress = [event for event in events if isinstance(event, ToolProgress)]
    assert [(p.progress, p.total) for p in progress] == [(1, 2), (2, 2)]
    assert events.index(progress[-1]) < next(i for i, e in enumerate(events) if isinstance(e, ToolResult))
