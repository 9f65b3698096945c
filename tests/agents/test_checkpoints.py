"""open_checkpointer: every spec form, threads that survive a restart and a SIGKILL, clear errors."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import aiosqlite
import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from mcploom.agents.agent import Agent
from mcploom.agents.checkpoints import CHECKPOINTER_FORMS, DURABILITY, default_checkpoint_path, open_checkpointer
from mcploom.agents.errors import ConfigError
from mcploom.graphs.react import build_react_graph
from tests.agents.crash_child import ANSWER, QUESTION, crash_tools, script
from tests.fakes import ScriptedChatModel

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = {"configurable": {"thread_id": "t1"}}


async def _chat(saver, question: str, answer: str) -> list:
    """One no-tool turn on ``thread t1``; returns the thread's messages afterwards."""
    graph = build_react_graph(model=ScriptedChatModel.script([answer]), tools=[], checkpointer=saver)
    result = await graph.ainvoke({"messages": [HumanMessage(question)]}, CONFIG, durability=DURABILITY)
    return result["messages"]


async def _sqlite_file(saver: AsyncSqliteSaver) -> Path:
    rows = await (await saver.conn.execute("PRAGMA database_list")).fetchall()
    return Path(rows[0][2])


async def test_default_is_sqlite_in_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MCPLOOM_HOME", str(tmp_path / "home"))
    async with open_checkpointer() as saver:
        assert isinstance(saver, AsyncSqliteSaver)
        assert await _sqlite_file(saver) == tmp_path / "home" / "checkpoints.sqlite" == default_checkpoint_path()


async def test_sqlite_is_tuned_for_cheap_commits(tmp_path):
    async with open_checkpointer(tmp_path / "threads.sqlite") as saver:
        journal = await (await saver.conn.execute("PRAGMA journal_mode")).fetchone()
        synchronous = await (await saver.conn.execute("PRAGMA synchronous")).fetchone()
    assert journal[0] == "wal" and synchronous[0] == 1  # 1 = NORMAL: no fsync per commit


@pytest.mark.parametrize(
    ("spec", "relative_path"),
    [
        ("sqlite:///{tmp}/a/url.sqlite", "a/url.sqlite"),
        ("sqlite:rel.sqlite", "rel.sqlite"),
        ("sqlite:sub/rel.db", "sub/rel.db"),
        ("plain.sqlite", "plain.sqlite"),
        ("plain.db", "plain.db"),
        ("{tmp}/abs.sqlite3", "abs.sqlite3"),
    ],
)
async def test_sqlite_spec_forms(spec, relative_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    async with open_checkpointer(spec.format(tmp=tmp_path)) as saver:
        assert isinstance(saver, AsyncSqliteSaver)
        assert await _sqlite_file(saver) == tmp_path / relative_path


async def test_memory_spec():
    async with open_checkpointer("memory") as saver:
        assert isinstance(saver, InMemorySaver)
        assert [m.text for m in await _chat(saver, "hi", "hello")] == ["hi", "hello"]


async def test_a_saver_is_yielded_as_is_and_left_open(tmp_path):
    async with aiosqlite.connect(tmp_path / "own.sqlite") as conn:
        own = AsyncSqliteSaver(conn)
        async with open_checkpointer(own) as saver:
            assert saver is own
        assert [m.text for m in await _chat(own, "still open?", "yes")] == ["still open?", "yes"]


async def test_a_thread_survives_reopening_the_file(tmp_path):
    path = tmp_path / "threads.sqlite"
    async with open_checkpointer(path) as saver:
        await _chat(saver, "My name is Ada.", "Hello Ada.")
    async with open_checkpointer(f"sqlite:///{path}") as saver:
        messages = await _chat(saver, "What is my name?", "Ada.")
    assert [m.text for m in messages] == ["My name is Ada.", "Hello Ada.", "What is my name?", "Ada."]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("redis://localhost", "not a checkpointer spec"),
        ("", "not a checkpointer spec"),
        ("threads.json", "not a checkpointer spec"),
        ("sqlite:", "not a checkpointer spec"),
        ("sqlite://host/threads.sqlite", "three slashes"),
    ],
)
async def test_bad_specs_name_the_value_and_the_forms(spec, expected):
    with pytest.raises(ConfigError) as error:
        async with open_checkpointer(spec):
            pass
    message = str(error.value)
    assert repr(spec) in message and expected in message and "sqlite:///" in message


async def test_an_unknown_spec_lists_every_form():
    with pytest.raises(ConfigError) as error:
        async with open_checkpointer("redis://localhost"):
            pass
    assert all(form in str(error.value) for form in CHECKPOINTER_FORMS)


async def test_a_file_that_is_not_a_database_is_a_config_error(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("not a database, just notes " * 100)
    with pytest.raises(ConfigError, match=r"notes\.db.*cannot use the file as a checkpoint database"):
        async with open_checkpointer(path):
            pass


async def test_an_unwritable_folder_is_a_config_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match=r"cannot open the SQLite file.*writable"):
        async with open_checkpointer(tmp_path / "file" / "threads.sqlite"):
            pass


async def test_postgres_without_the_extra_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "langgraph.checkpoint.postgres.aio", None)
    with pytest.raises(ConfigError, match=r'pip install "mcploom\[postgres\]"'):
        async with open_checkpointer("postgresql://localhost/agents"):
            pass


async def test_postgres_refusing_the_connection_is_a_config_error_without_the_password():
    pytest.importorskip("langgraph.checkpoint.postgres.aio", reason='needs pip install "mcploom[postgres]"')
    with pytest.raises(ConfigError, match=r"cannot connect to Postgres") as error:
        async with open_checkpointer("postgres://ada:s3cret@127.0.0.1:1/agents?connect_timeout=5"):
            pass
    assert "s3cret" not in str(error.value) and "ada:***@127.0.0.1:1" in str(error.value)


def _wait_for(path: Path, child: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if child.poll() is not None:
            pytest.fail(f"the child exited ({child.returncode}) before {path.name} appeared: {child.stderr.read()}")
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"{path.name} did not appear within {timeout} s")
        time.sleep(0.02)


def _summary(messages: list) -> list[tuple[str, str, list[str]]]:
    return [(type(m).__name__, m.text, [c["name"] for c in getattr(m, "tool_calls", [])]) for m in messages]


FULL_RUN = [
    ("HumanMessage", QUESTION, []),
    ("AIMessage", "", ["record"]),
    ("ToolMessage", "recorded visit 1", []),
    ("AIMessage", "", ["block"]),
    ("ToolMessage", "released", []),
    ("AIMessage", ANSWER, []),
]


@pytest.mark.parametrize(
    ("moment", "done_before_kill", "turns_played"),
    [
        # The parent kills the child while `block` waits: `record` and the model turn after it are done.
        ("in-block", 4, 2),
        # The child dies as the model is called right after `record`: the step that ran it is done.
        ("at-next-model-call", 3, 1),
    ],
)
async def test_sigkill_mid_run_loses_no_completed_step(moment, done_before_kill, turns_played, tmp_path):
    """Kill the run mid-way; the resumed thread neither reruns ``record`` nor loses a message."""
    db, counter, flag, started = (tmp_path / name for name in ("threads.sqlite", "counter.txt", "flag", "started"))
    flag.touch()
    args = [str(db), str(counter), str(flag), str(started), "crash", moment]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.agents.crash_child", *args],
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    if moment == "in-block":
        _wait_for(started, child)
        child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=120) == -signal.SIGKILL, child.stderr.read()
    flag.unlink()

    # The model plays only the turns left: a rerun of an earlier step would fail the checks below.
    model = ScriptedChatModel.script(script()[turns_played:])
    async with Agent(model=model, tools=crash_tools(counter, flag, started), checkpointer=db) as agent:
        before = await agent.graph.aget_state({"configurable": {"thread_id": "crash"}})
        assert _summary(before.values.get("messages", [])) == FULL_RUN[:done_before_kill]
        result = await agent.aresume("crash")
    # Only calls the resumed run's own model turns asked for: `block` again when its turn was lost.
    assert [c["name"] for c in result.tool_calls] == ([] if moment == "in-block" else ["block"])
    assert result.answer == ANSWER
    assert counter.read_text().splitlines() == ["visit"]
    assert _summary(result.messages) == FULL_RUN
    assert [m.id for m in result.messages[:done_before_kill]] == [m.id for m in before.values["messages"]]


@pytest.mark.postgres
async def test_postgres_round_trips_a_thread(postgres_url):
    async with open_checkpointer(postgres_url) as saver:
        assert type(saver).__name__ == "AsyncPostgresSaver"
        await saver.adelete_thread("t1")  # a reused MCPLOOM_TEST_POSTGRES_URL database may hold it
        await _chat(saver, "My name is Ada.", "Hello Ada.")
    async with open_checkpointer(postgres_url) as saver:
        messages = await _chat(saver, "What is my name?", "Ada.")
    assert [m.text for m in messages] == ["My name is Ada.", "Hello Ada.", "What is my name?", "Ada."]
