"""Query first, through a real sql server (stdio) over a small database and a scripted model: a
question that names one of its tables has the first turn call the server's query tool; any other
question, the later turns and the next question of the thread leave the model free to choose."""

from __future__ import annotations

import sqlite3
import sys

import pytest

from mcploom import Agent
from mcploom.mcp_servers import server_entry
from tests.fakes import ScriptedChatModel, tool_call

UTILITY = {"utility": {"command": sys.executable, "args": ["-m", "mcploom.mcp_servers.utility"]}}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("routing") / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, city TEXT)")
        db.execute("CREATE TABLE order_categories (id INTEGER PRIMARY KEY, label TEXT)")
        db.executemany("INSERT INTO customers (name, city) VALUES (?, ?)", [("Ana", "Porto"), ("Ben", "Lyon")])
    db.close()
    return {**UTILITY, "sql": server_entry("sql", [str(path)])}


def test_a_question_naming_a_table_first_calls_the_query_tool(servers: dict) -> None:
    model = ScriptedChatModel.script(
        [tool_call("query", sql="SELECT count(*) FROM customers WHERE city = 'Porto'"), "One customer lives in Porto."]
    )
    with Agent(model=model, servers=servers, checkpointer="memory") as agent:
        result = agent.run("How many customers live in Porto?")
    assert model.tool_choices == ["query", None]
    assert result.answer == "One customer lives in Porto." and '"rows"' in model.seen[1][-1].content


@pytest.mark.parametrize("question", ["Which customer lives in Lyon?", "List every order category."])
def test_singular_and_plural_both_name_a_table(servers: dict, question: str) -> None:
    model = ScriptedChatModel.script([tool_call("query", sql="SELECT 1"), "Done."])
    with Agent(model=model, servers=servers, checkpointer="memory") as agent:
        agent.run(question)
    assert model.tool_choices[0] == "query"


def test_other_questions_and_the_next_question_of_a_thread_are_left_to_the_model(servers: dict) -> None:
    model = ScriptedChatModel.script([tool_call("query", sql="SELECT 1"), "Two.", "Hello!"])
    with Agent(model=model, servers=servers, checkpointer="memory") as agent:
        first = agent.run("How many customers are there?")
        agent.run("Write a haiku about the sea.", thread_id=first.thread_id)
    assert model.tool_choices == ["query", None, None]


def test_it_can_be_turned_off(servers: dict) -> None:
    model = ScriptedChatModel.script(["I would need to look."])
    with Agent(model=model, servers=servers, checkpointer="memory", query_first=False) as agent:
        agent.run("How many customers are there?")
    assert model.tool_choices == [None]


def test_a_pattern_whose_state_has_no_first_tool_runs_as_before(servers: dict) -> None:
    model = ScriptedChatModel.script(["Two.", "Two.", "Three."])
    with Agent(model=model, servers=servers, checkpointer="memory", options={"samples": 3}) as agent:
        assert agent.run("How many customers are there?").answer == "Two."
    assert model.tool_choices == [None, None, None]
