"""Checkpointers: where agent threads persist, picked by one spec (LangGraph checkpoint savers).

The forms a spec can take:

========================================  =====================================================
``None``                                  SQLite at ``data_home() / "checkpoints.sqlite"``
``memory``                                ``InMemorySaver``: threads live as long as the process
``sqlite:///abs/path.sqlite``             SQLite at an absolute path
``sqlite:relative.sqlite``                SQLite at a path relative to the working directory
``path/to/threads.sqlite`` (or ``.db``)   SQLite at that path (``.sqlite3``, ``~``, a ``Path`` work too)
``postgresql://user:pw@host/db``          Postgres (``pip install "mcploom[postgres]"``)
a ``BaseCheckpointSaver``                 used as it is; the caller keeps owning it
========================================  =====================================================

SQLite runs in WAL mode with ``synchronous=NORMAL``: a commit is a write into the WAL file
with no fsync, so it survives the process being killed (the data is in the OS's page cache)
and costs well under a millisecond; only a power cut or OS crash can lose the last commits.
SQLite's default (``FULL``) fsyncs every commit: on the 2-core dev machine a ReAct round cost
+16.5 ms with it (+40-46 ms under heavy load) and +8.9 ms without (``benchmarks/checkpoint_cost.py``).
Run graphs with ``durability=DURABILITY``.

Example:
    >>> async with open_checkpointer("memory") as saver:  # doctest: +SKIP
    ...     graph = build_react_graph(model=model, tools=tools, checkpointer=saver)
    ...     await graph.ainvoke(inputs, {"configurable": {"thread_id": "t1"}}, durability=DURABILITY)
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Durability

from mcploom.agents.config.checkpointers import CHECKPOINTER_FORMS, POSTGRES_SCHEMES, sqlite_path
from mcploom.agents.errors import ConfigError
from mcploom.paths import data_home

__all__ = ["CHECKPOINTER_FORMS", "DURABILITY", "default_checkpoint_path", "open_checkpointer"]

DURABILITY: Durability = "sync"
"""The ``durability`` run option to pass to ``ainvoke``/``astream`` of a checkpointed graph.

``"sync"``: a step's checkpoint is saved before the next step starts, so a process killed with
SIGKILL loses at most the step that was running. ``"async"`` (LangGraph's default) queues the
saves and runs the next steps meanwhile: a kill loses every step still queued, which can be
several finished ones, tools included, and those run again on resume. Killed while its second
tool ran, a fast ReAct run under ``"async"`` had saved only its first two checkpoints in 3 of
9 tries (``tests/agents/test_checkpoints.py`` fails then); ``"exit"`` saves only when the run
ends. ``"sync"`` costs about a millisecond per ReAct round more than ``"async"``
(``benchmarks/checkpoint_cost.py``).
"""

_SQLITE_PRAGMAS = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
"""WAL mode persists in the file; ``synchronous`` is per connection, so set on every open."""


def default_checkpoint_path() -> Path:
    """The SQLite file agent threads go to when no checkpointer is given."""
    return data_home() / "checkpoints.sqlite"


@asynccontextmanager
async def open_checkpointer(
    spec: BaseCheckpointSaver | str | os.PathLike[str] | None = None,
) -> AsyncIterator[BaseCheckpointSaver]:
    """Open the checkpointer a spec names, and close what was opened here on exit.

    Args:
        spec: A spec string (see the module docstring), a path to a SQLite file, ``None``
            for the default SQLite file, or a saver, which is yielded as-is and not closed.

    Yields:
        A ready saver (tables created). SQLite and Postgres savers belong to the running
        event loop: use them with ``ainvoke``/``astream`` inside this context.

    Raises:
        ConfigError: The spec matches no form; the SQLite file cannot be opened or is not a
            database; Postgres support is not installed or the server refuses the connection.

    Example:
        >>> async with open_checkpointer("sqlite:threads.sqlite") as saver:  # doctest: +SKIP
        ...     await saver.aget_tuple({"configurable": {"thread_id": "t1"}})
    """
    if isinstance(spec, BaseCheckpointSaver):
        yield spec
    elif spec == "memory":
        yield InMemorySaver()
    elif isinstance(spec, str) and spec.startswith(POSTGRES_SCHEMES):
        async with _open_postgres(spec) as saver:
            yield saver
    else:
        async with _open_sqlite(default_checkpoint_path() if spec is None else sqlite_path(spec)) as saver:
            yield saver


@asynccontextmanager
async def _open_sqlite(path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    """An ``AsyncSqliteSaver`` on its own tuned connection, closed on exit."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(
            f"At checkpointer {str(path)!r}: cannot open the SQLite file ({exc}). "
            "Check that its folder is writable, or pick another path."
        ) from exc
    try:
        try:
            await conn.executescript(_SQLITE_PRAGMAS)
            saver = AsyncSqliteSaver(conn)
            await saver.setup()
        except sqlite3.Error as exc:
            raise ConfigError(
                f"At checkpointer {str(path)!r}: cannot use the file as a checkpoint database ({exc}). "
                "Point to a new file or an existing mcploom/LangGraph checkpoint file."
            ) from exc
        yield saver
    finally:
        await conn.close()


@asynccontextmanager
async def _open_postgres(url: str) -> AsyncIterator[BaseCheckpointSaver]:
    """An ``AsyncPostgresSaver`` on one connection (tables created or migrated), closed on exit.

    Its runs share the connection one query at a time; a process serving many threads at once
    can pass its own saver over a ``psycopg_pool.AsyncConnectionPool`` instead.
    """
    where = _without_password(url)
    try:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg import AsyncConnection
        from psycopg import Error as PostgresError
        from psycopg.rows import dict_row
    except ImportError as exc:
        raise ConfigError(
            f'At checkpointer {where!r}: Postgres support is not installed. Run: pip install "mcploom[postgres]"'
        ) from exc
    try:
        # The settings AsyncPostgresSaver.from_conn_string uses, which its queries rely on.
        conn = await AsyncConnection.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)
    except PostgresError as exc:
        raise ConfigError(
            f"At checkpointer {where!r}: cannot connect to Postgres ({exc}). "
            "Check that the server is running and the URL's host, database, user and password."
        ) from exc
    async with conn:
        saver = AsyncPostgresSaver(conn)
        await saver.setup()
        yield saver


def _without_password(url: str) -> str:
    """The URL with its password masked, for error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
