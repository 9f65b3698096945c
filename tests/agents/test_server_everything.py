"""The toolkit against the MCP reference server ``@modelcontextprotocol/server-everything`` (npx),
over stdio and streamable HTTP: resources (text, binary, templates, links in tool results),
prompts with arguments, and an image result as text-only models see it.

Needs ``npx`` (the package is downloaded on first use and cached by npm); skipped without it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import pytest_asyncio
from langchain_core.tools import BaseTool

from mcploom.agents.errors import ServerRequestError
from mcploom.agents.mcp_client import MCPToolkit
from mcploom.agents.mcp_content import contents_text, prompt_messages
from tests.net import free_port, stop, wait_listening

pytestmark = [
    pytest.mark.npx,
    pytest.mark.skipif(shutil.which("npx") is None, reason="npx is not installed (Node.js needed)"),
    pytest.mark.asyncio(loop_scope="module"),
]

EVERYTHING = ["npx", "-y", "@modelcontextprotocol/server-everything"]


@contextmanager
def everything_over_http() -> Iterator[str]:
    port = free_port()
    with (
        tempfile.TemporaryFile() as log,
        subprocess.Popen(
            [*EVERYTHING, "streamableHttp"], env={**_env(), "PORT": str(port)}, stdout=log, stderr=log
        ) as process,
    ):
        try:
            wait_listening(port, process, log, "server-everything", timeout=120)
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            stop(process)


def _env() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if key in {"HOME", "PATH", "USER", "TERM"}}


@pytest.fixture(scope="module", params=["stdio", "streamable-http"])
def everything(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    if request.param == "stdio":
        yield {"everything": {"command": EVERYTHING[0], "args": EVERYTHING[1:]}}
        return
    with everything_over_http() as url:
        yield {"everything": {"url": url}}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def toolkit(everything: dict[str, Any]) -> AsyncIterator[MCPToolkit]:
    async with MCPToolkit(everything, start_timeout=120) as toolkit:
        yield toolkit


def tool(toolkit: MCPToolkit, name: str) -> BaseTool:
    return next(t for t in toolkit.tools if t.name == name)


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
