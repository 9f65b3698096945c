"""SQL MCP server: read-only SQLite — list tables, describe one, run a SELECT with a timeout and row limit.

Run it with ``python -m mcploom.mcp_servers.sql DB_PATH``. Read-only by construction, not by pattern
matching: every connection opens the file with a ``mode=ro`` URI, sets ``PRAGMA query_only``,
and installs an authorizer that allows only reads, selects, functions, recursive CTEs and a few
schema-reading pragmas. ``sqlite3`` runs one statement per call. A missing file is a start-up
error; the server never creates a database.
"""

from __future__ import annotations

import argparse
import math
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from mcploom.mcp_servers._annotations import READ_ONLY
from mcploom.mcp_servers._serve import ServerCommand, existing_file

__all__ = ["DatabaseOpenError", "connect_readonly", "create_server", "main"]

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_ROWS = 1000
DEFAULT_LIMIT = 100
MAX_SQL_CHARS = 100_000
MAX_VALUE_BYTES = 10_000_000
MAX_CELL_CHARS = 10_000

_SCHEMA_PRAGMAS = frozenset(
    {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"}
)
_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})
_DENIED_FUNCTIONS = frozenset({"load_extension"})

Cell = int | float | str | None
"""One value of a result row; blobs come back as ``<blob N bytes: hex...>`` text."""


class DatabaseOpenError(Exception):
    """The database file is missing or is not SQLite."""


def _authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    if action in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() not in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in _SCHEMA_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def connect_readonly(db_path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open ``db_path`` read-only: ``mode=ro`` URI, ``query_only``, a read-only authorizer, size limits.

    Raises:
        DatabaseOpenError: The file does not exist or is not a SQLite database.
    """
    path = Path(db_path).expanduser().resolve()
    if not path.is_file():
        raise DatabaseOpenError(f"No SQLite database at {os.fspath(db_path)!r} ({path}). Give an existing file.")
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DatabaseOpenError(f"{path} is not a readable SQLite database: {exc}.") from None
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_CHARS)
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.set_authorizer(_authorize)
    return conn


@contextmanager
def _deadline(conn: sqlite3.Connection, seconds: float) -> Iterator[None]:
    """Interrupt any statement on ``conn`` that runs longer than ``seconds``."""
    end = time.monotonic() + seconds
    conn.set_progress_handler(lambda: int(time.monotonic() > end), 10_000)
    try:
        yield
    finally:
        conn.set_progress_handler(None, 0)


def _cell(value: object) -> Cell:
    if isinstance(value, bytes):
        return f"<blob {len(value)} bytes: {value[:32].hex()}{'...' if len(value) > 32 else ''}>"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        return value[:MAX_CELL_CHARS] + f"... [{len(value) - MAX_CELL_CHARS} more characters]"
    return value  # type: ignore[return-value]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class TableSummary(BaseModel):
    """A table or view."""

    name: str
    type: str = Field(description="'table' or 'view'.")


class TableList(BaseModel):
    """Every table and view in the database (SQLite internals left out)."""

    tables: list[TableSummary]


class Column(BaseModel):
    """One column of a table."""

    name: str
    type: str = Field(description="Declared type (may be empty in SQLite).")
    not_null: bool
    default: str | None = Field(description="Default value as SQL text.")
    primary_key: bool


class ForeignKey(BaseModel):
    """A column that references another table."""

    column: str
    references_table: str
    references_column: str | None


class TableDescription(BaseModel):
    """The schema of one table or view, and its row count."""

    name: str
    type: str
    columns: list[Column]
    indexes: list[str]
    foreign_keys: list[ForeignKey]
    row_count: int | None = Field(description="Rows in it; null if counting took too long.")
    sql: str | None = Field(description="The CREATE statement.")


class QueryResult(BaseModel):
    """Rows of a query, at most ``limit`` of them."""

    columns: list[str]
    rows: list[list[Cell]] = Field(description="One list of values per row, in column order.")
    row_count: int = Field(description="Rows returned.")
    truncated: bool = Field(description="True if the query had more rows than the limit.")
    elapsed_ms: float


def create_server(
    db_path: str | os.PathLike[str], *, timeout_s: float = DEFAULT_TIMEOUT_S, max_rows: int = DEFAULT_MAX_ROWS
) -> MCPServer:
    """Build the sql server over the SQLite file ``db_path`` (checked now; never created).

    Raises:
        DatabaseOpenError: The file does not exist or is not a SQLite database.
    """
    connect_readonly(db_path).close()
    shown = Path(db_path).name
    server = MCPServer(
        "mcploom-sql",
        instructions=f"Read-only SQL over the SQLite database {shown}: list_tables, describe, then query.",
    )

    def run(sql: str, params: Sequence[object] = (), limit: int | None = None) -> tuple[list[str], list[tuple], bool]:
        with closing(connect_readonly(db_path)) as conn, _deadline(conn, timeout_s):
            try:
                cursor = conn.execute(sql, params)
                columns = [d[0] for d in cursor.description or ()]
                rows = cursor.fetchall() if limit is None else cursor.fetchmany(limit + 1)
            except (sqlite3.Error, sqlite3.Warning) as exc:
                raise ToolError(_explain(exc, timeout_s)) from None
        more = limit is not None and len(rows) > limit
        return columns, rows[:limit] if limit is not None else rows, more

    def table_type(name: str) -> str:
        _, rows, _ = run("SELECT type FROM sqlite_master WHERE name = ? AND type IN ('table', 'view')", (name,))
        if not rows:
            names = [t.name for t in list_tables().tables]
            raise ToolError(f"No table or view named {name!r}. Tables here: {', '.join(names) or '(none)'}.")
        return rows[0][0]

    @server.resource("sql://schema", mime_type="text/plain")
    def schema() -> str:
        """The CREATE statements of every table, view and index."""
        _, rows, _ = run("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'")
        return ";\n\n".join(row[0] for row in rows) + ";\n"

    @server.tool(annotations=READ_ONLY)
    def list_tables() -> TableList:
        """List the tables and views in the database."""
        _, rows, _ = run(
            "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        return TableList(tables=[TableSummary(name=name, type=kind) for name, kind in rows])

    @server.tool(annotations=READ_ONLY)
    def describe(
        table: Annotated[str, Field(description="Table or view name, exactly as list_tables shows it.")],
    ) -> TableDescription:
        """Show a table's columns, types, keys, indexes and row count."""
        kind = table_type(table)
        quoted = _quote(table)
        _, cols, _ = run(f"PRAGMA table_info({quoted})")
        _, idx, _ = run(f"PRAGMA index_list({quoted})")
        _, fks, _ = run(f"PRAGMA foreign_key_list({quoted})")
        _, sql, _ = run("SELECT sql FROM sqlite_master WHERE name = ?", (table,))
        try:
            _, count, _ = run(f"SELECT count(*) FROM {quoted}")
            row_count = count[0][0]
        except ToolError:
            row_count = None
        return TableDescription(
            name=table,
            type=kind,
            columns=[
                Column(name=c[1], type=c[2], not_null=bool(c[3]), default=c[4], primary_key=bool(c[5])) for c in cols
            ],
            indexes=[i[1] for i in idx],
            foreign_keys=[ForeignKey(column=f[3], references_table=f[2], references_column=f[4]) for f in fks],
            row_count=row_count,
            sql=sql[0][0] if sql else None,
        )

    @server.tool(annotations=READ_ONLY)
    def query(
        sql: Annotated[str, Field(max_length=MAX_SQL_CHARS, description="One SELECT (or WITH ... SELECT) statement.")],
        limit: Annotated[int | None, Field(ge=1, description="Most rows to return (default 100).")] = None,
    ) -> QueryResult:
        """Run one read-only SQL query and return its rows. Writes, ATTACH and most PRAGMAs are refused."""
        if limit is None:
            limit = min(DEFAULT_LIMIT, max_rows)
        if limit > max_rows:
            raise ToolError(f"limit {limit} is over this server's maximum of {max_rows} rows; ask for fewer.")
        started = time.perf_counter()
        columns, rows, more = run(sql, limit=limit)
        return QueryResult(
            columns=columns,
            rows=[[_cell(v) for v in row] for row in rows],
            row_count=len(rows),
            truncated=more,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    return server


def _explain(exc: sqlite3.Error | sqlite3.Warning, timeout_s: float) -> str:
    """Say why SQLite refused a statement, and what to send instead."""
    text = str(exc)
    if "one statement" in text:
        return f"{text} Send a single SELECT statement, without ';' between statements."
    if "authoriz" in text or "readonly" in text or "query_only" in text:
        return (
            f"Refused ({text}): this database is read-only. Only SELECT and WITH ... SELECT run here; "
            "INSERT, UPDATE, DELETE, CREATE, ATTACH and most PRAGMAs are not allowed."
        )
    if "interrupted" in text:
        return f"The query ran longer than {timeout_s:g} s and was stopped. Add a WHERE clause or a LIMIT."
    return f"SQLite error: {text}. Check table and column names with list_tables and describe."


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "db_path", metavar="DB_PATH", type=existing_file, help="Existing SQLite database file (opened read-only)."
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="Seconds per query.")
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, help="Largest allowed row limit.")


def _from_arguments(args: argparse.Namespace) -> MCPServer:
    try:
        return create_server(args.db_path, timeout_s=args.timeout, max_rows=args.max_rows)
    except DatabaseOpenError as exc:
        raise SystemExit(f"mcploom serve sql: {exc}") from None


COMMAND = ServerCommand("sql", __doc__.splitlines()[0], _from_arguments, _add_arguments)
"""``python -m mcploom.mcp_servers.sql DB_PATH`` (``mcploom serve sql``)."""

main = COMMAND.main

if __name__ == "__main__":
    main()
