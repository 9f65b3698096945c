"""MCP resources and prompts through the toolkit and the Agent, against our real sql and rag
servers over stdio (the reference server-everything: ``test_server_everything.py``)."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool, ToolException

from mcploom import rag
from mcploom.agents.agent import Agent
from mcploom.agents.errors import ConfigError, ServerRequestError
from mcploom.agents.mcp_client import MCPToolkit
from mcploom.agents.mcp_content import contents_text, prompt_messages, result_text
from mcploom.agents.mcp_resources import Catalog, owner
from mcploom.mcp_servers import server_entry
from tests.fakes import ScriptedChatModel, tool_call


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("shop")
    db = folder / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE items (name TEXT, price REAL)")
        conn.execute("INSERT INTO items VALUES ('pen', 1.5)")
    docs = folder / "docs"
    docs.mkdir()
    (docs / "pens.md").write_text("# Pens\n\nThe shop's pens were written about by Ada Lovelace in 1843.\n")
    rag.open_index(folder / "index", rag.DEFAULT_COLLECTION).ingest([docs])
    return {
        "sql": server_entry("sql", [str(db)]),
        "rag": server_entry("rag", ["--data-dir", str(folder / "index")]),
        "utility": server_entry("utility", []),
    }


def tool(tools: list[BaseTool], name: str) -> BaseTool:
    return next(t for t in tools if t.name == name)


# --- the toolkit against our servers --------------------------------------------------------


async def test_catalogs_list_what_each_server_offers(servers: dict[str, Any]) -> None:
    async with MCPToolkit(servers) as toolkit:
        info = toolkit.servers
    assert [str(r.uri) for r in info["sql"].catalog.resources] == ["sql://schema"]
    assert [t.uri_template for t in info["rag"].catalog.templates] == ["rag://document/{+source}"]
    assert [p.name for p in info["rag"].catalog.prompts] == ["answer_with_citations"]
    assert not info["utility"].catalog.offers_resources and not info["utility"].catalog.prompts


async def test_the_model_reads_a_resource_through_read_resource(servers: dict[str, Any]) -> None:
    async with MCPToolkit(servers) as toolkit:
        read = tool(toolkit.tools, "read_resource")
        text = await read.ainvoke({"uri": "sql://schema"})
        with pytest.raises(ToolException, match="rag://document//nowhere.md"):
            await read.ainvoke({"uri": "rag://document//nowhere.md"})
    assert "CREATE TABLE items" in text
    assert "sql://schema" in read.description and "rag://document/{+source}" in read.description
    assert read.metadata["readOnlyHint"] and not read.metadata["destructiveHint"]


async def test_prompts_are_filled_in_and_bad_arguments_named(servers: dict[str, Any]) -> None:
    async with MCPToolkit(servers) as toolkit:
        result = await toolkit.get_prompt("rag", "answer_with_citations", {"question": "Who wrote it?"})
        with pytest.raises(ServerRequestError, match=r"lacks question; it takes: question\.$"):
            await toolkit.get_prompt("rag", "answer_with_citations")
        with pytest.raises(ServerRequestError, match="does not take topic"):
            await toolkit.get_prompt("rag", "answer_with_citations", {"question": "q", "topic": "x"})
        with pytest.raises(ServerRequestError, match="no prompt 'summary'; its prompts: 'answer_with_citations'"):
            await toolkit.get_prompt("rag", "summary")
        with pytest.raises(ServerRequestError, match="No MCP server is named 'docs'; the connected ones: 'sql'"):
            await toolkit.get_prompt("docs", "answer_with_citations")
    [message] = prompt_messages(result)
    assert isinstance(message, HumanMessage) and message.text.endswith("Question: Who wrote it?")
    assert "Ada Lovelace" in message.text  # the passages the prompt searched for


async def test_a_prompt_that_cannot_render_says_why(tmp_path: Path) -> None:
    empty = {"rag": server_entry("rag", ["--data-dir", str(tmp_path / "index")])}
    async with MCPToolkit(empty) as toolkit:
        with pytest.raises(ServerRequestError, match="Unknown collection 'default'.*ingest files into it first"):
            await toolkit.get_prompt("rag", "answer_with_citations", {"question": "Who wrote it?"})


# --- the Agent ------------------------------------------------------------------------------


async def test_attached_resources_come_before_the_question(servers: dict[str, Any]) -> None:
    model = ScriptedChatModel.script(["It has one table, items."])
    async with Agent(model=model, servers=servers, checkpointer="memory", retrieve_first=False) as agent:
        result = await agent.arun("What tables are there?", resources=["sql://schema"])
        with pytest.raises(ServerRequestError, match="none lists it"):
            await agent.arun("And this?", resources=["files://nowhere"])
    question = model.seen[0][-1]
    assert question.text.startswith("Attached resource sql://schema:\nCREATE TABLE items")
    assert question.text.endswith("\n\nWhat tables are there?")
    assert result.answer == "It has one table, items."


def test_a_prompt_runs_as_the_question(servers: dict[str, Any]) -> None:
    model = ScriptedChatModel.script(["The passages do not say."])
    with Agent(model=model, servers=servers, checkpointer="memory", retrieve_first=False) as agent:
        messages = agent.prompt("rag", "answer_with_citations", question="Who wrote it?")
        result = agent.run(messages)
        with pytest.raises(ConfigError, match="must end with the user's message"):
            agent.run([AIMessage("Hello")])
    assert model.seen[0][-1].text.endswith("Question: Who wrote it?")
    assert result.answer == "The passages do not say."


async def test_the_model_reads_a_resource_in_a_run(servers: dict[str, Any]) -> None:
    model = ScriptedChatModel.script([tool_call("read_resource", uri="sql://schema"), "One table."])
    async with Agent(model=model, servers=servers, checkpointer="memory", retrieve_first=False) as agent:
        result = await agent.arun("Read the schema.")
    assert "CREATE TABLE items" in model.seen[1][-1].text
    assert result.answer == "One table."


# --- pure parts -----------------------------------------------------------------------------


def catalog(*uris: str, templates: tuple[str, ...] = ()) -> Catalog:
    return Catalog(
        resources=tuple(types.Resource(uri=uri, name=uri) for uri in uris),
        templates=tuple(types.ResourceTemplate(uri_template=t, name=t) for t in templates),
        offers_resources=True,
    )


@pytest.mark.parametrize(
    ("uri", "server"),
    [
        ("sql://schema", "sql"),
        ("rag://document//docs/a.md", "rag"),  # {+source} takes slashes
        ("demo://item/7", "demo"),  # {id} is one segment
        ("rag://collections", "rag"),  # not listed: by scheme
    ],
)
def test_a_uri_belongs_to_the_server_that_can_serve_it(uri: str, server: str) -> None:
    catalogs = {
        "sql": catalog("sql://schema"),
        "rag": catalog(templates=("rag://document/{+source}",)),
        "demo": catalog(templates=("demo://item/{id}",)),
        "utility": Catalog(),
    }
    assert owner(uri, catalogs) == server


def test_a_uri_no_server_can_claim_is_an_error_naming_the_candidates() -> None:
    catalogs = {"a": catalog("x://1"), "b": catalog("y://1")}
    with pytest.raises(ServerRequestError, match="'a', 'b' could"):
        owner("z://2", catalogs)
    with pytest.raises(ServerRequestError, match="no connected MCP server offers resources"):
        owner("z://2", {"utility": Catalog()})
    assert owner("demo://item/7/extra", {"only": catalog(templates=("demo://item/{id}",))}) == "only"


def test_what_a_text_model_cannot_read_becomes_a_stand_in() -> None:
    png = base64.b64encode(b"\x89PNG" + bytes(2044)).decode()
    result = types.CallToolResult(
        content=[
            types.TextContent(type="text", text="Here it is."),
            types.ImageContent(type="image", data=png, mime_type="image/png"),
            types.ResourceLink(type="resource_link", uri="demo://a", name="a", mime_type="text/plain"),
        ]
    )
    assert result_text(result).splitlines() == [
        "Here it is.",
        "[image (image/png, 2.0 KiB) left out: this model reads text only]",
        "[resource link: demo://a (a, text/plain); read_resource reads it]",
    ]
    blob = types.BlobResourceContents(uri="demo://b", blob=base64.b64encode(b"abc").decode(), mime_type=None)
    assert contents_text([blob]) == "[binary resource demo://b (3 bytes) left out: this model reads text only]"


def test_a_result_without_blocks_reads_as_its_structured_content() -> None:
    result = types.CallToolResult(content=[], structured_content={"n": 1})
    assert result_text(result) == '{"n": 1}'
