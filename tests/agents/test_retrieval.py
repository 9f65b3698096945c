"""Retrieval first, through a real rag server (stdio) over a small ingested corpus and a scripted
model: a question on the documents' topic reaches the model with the passages, as a search call
and its result after the question; any other question reaches it as it was asked."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from mcploom import Agent, rag
from mcploom.mcp_servers import server_entry
from tests.fakes import ScriptedChatModel


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("retrieval")
    docs = folder / "docs"
    docs.mkdir()
    (docs / "kettle.md").write_text(
        "# Orrin kettle manual\n\nThe Orrin kettle holds 1.9 litres. Descale it every 5 weeks with citric acid.\n"
    )
    (docs / "ferry.md").write_text("# Harbour ferry\n\nThe harbour ferry crossing takes 17 minutes.\n")
    rag.open_index(folder / "index", rag.DEFAULT_COLLECTION).ingest([docs])
    return {"rag": server_entry("rag", ["--data-dir", str(folder / "index")])}


def test_a_question_on_the_documents_topic_comes_with_their_passages(servers: dict) -> None:
    model = ScriptedChatModel.script(["It holds 1.9 litres."])
    with Agent(model=model, servers=servers, checkpointer="memory") as agent:
        result = agent.run("How many litres does the Orrin kettle hold?")
    question, call, passages = model.seen[0][1:4]
    assert isinstance(question, HumanMessage) and isinstance(call, AIMessage) and isinstance(passages, ToolMessage)
    assert call.tool_calls[0]["name"] == "search" and "1.9 litres" in passages.content
    # Not the title line: the 0.5B model searched for it again, then copied the whole passage out.
    assert "Orrin kettle manual" not in passages.content and "harbour" not in passages.content.lower()
    assert result.answer == "It holds 1.9 litres."


def test_any_other_question_reaches_the_model_as_asked(servers: dict) -> None:
    model = ScriptedChatModel.script(["Hello!"])
    with Agent(model=model, servers=servers, checkpointer="memory") as agent:
        agent.run("Write a haiku about autumn leaves.")
    assert [type(m) for m in model.seen[0][1:]] == [HumanMessage]


def test_it_can_be_turned_off(servers: dict) -> None:
    model = ScriptedChatModel.script(["1.9 litres, I think."])
    with Agent(model=model, servers=servers, checkpointer="memory", retrieve_first=False) as agent:
        agent.run("How many litres does the Orrin kettle hold?")
    assert [type(m) for m in model.seen[0][1:]] == [HumanMessage]
