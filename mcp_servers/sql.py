"""SQL MCP server: read-only SQLite — list tables, describe one, run a SELECT with a timeout and row limit.

Run it with ``python -m mcploom.mcp_servers.sql DB_PATH``. Read-only by construction, not by pattern
matching: every connection opens the file with a ``mode=ro`` URI, sets ``PRAGMA query_only``,
and installs an authorizer that allows only reads, selects, recursive CTEs, a few schema-reading
pragmas and an allowlist of functions. ``sqlite3`` runs one statement per call. A missing file is a
start-up error; the server never creates a database.

Bounded in time and memory at the engine: a timer interrupts a statement at its deadline, SQLite's
own limits keep any one function call short (no string or blob over :data:`MAX_VALUE_BYTES`, no
LIKE/GLOB pattern over :data:`MAX_PATTERN_BYTES`), rows are read one at a time with each cell
clipped as it arrives, and a result stops at a byte budget (``truncated_by="byte_budget"``).
"""

from __future__ import annotations

import argparse
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from mcploom.mcp_servers._annotations import READ_ONLY
from mcploom.mcp_servers._serve import ServerCommand, existing_file
from mcploom.mcp_servers._server import McploomServer

__all__ = ["DatabaseOpenError", "QueryResult", "Truncation", "connect_readonly", "create_server", "main"]

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_ROWS = 1000
DEFAULT_LIMIT = 100
DEFAULT_MAX_RESULT_BYTES = 4_000_000
"""Bytes of cell data one query may return (UTF-8 text; 8 per number, 4 per null)."""
MAX_SQL_CHARS = 100_000
MAX_CELL_CHARS = 10_000

# SQLite checks its deadline (interrupt() or a progress handler) only between VM instructions, so
# one function call can't be stopped; its cost is bounded by the size of its arguments instead.
# CPU seconds of one call with maximal arguments at candidate limits, SQLite 3.40.1 on this
# project's 2-core machine (thread CPU time, one run each, machine shared, load ~2.5):
#
#   limit       instr  replace  LIKE  GLOB (500-byte pattern)  json_patch (disjoint keys)  printf
#     100,000   0.064    0.065  0.14  0.09                      0.90                       0.001
#     250,000   0.39     0.38   0.22  0.44                      3.7                        0.004
#     500,000   1.7      1.6    0.47  0.42                      -                          0.005
#   1,000,000   7.6      7.9    1.0   1.5                       -                          0.015
#
# (At the old 10 MB limit, instr over 2M/1M characters ran 24 s.) 100,000 keeps every built-in
# under the deadline, json_patch (quadratic in key count) near 1 s and the rest under 0.15 s.
# A stored value over it can't be read at all (only typeof(), and length() of a blob), which the
# error message says. LIKE/GLOB cost value length x pattern length: with SQLite's default 50,000-byte
# pattern limit, 100,000 x 50,000 took 10.9 s (LIKE) and 12.4 s (GLOB).
MAX_VALUE_BYTES = 100_000
"""Longest string or blob any expression may read or build (``SQLITE_LIMIT_LENGTH``)."""
MAX_PATTERN_BYTES = 500
"""Longest LIKE or GLOB pattern (``SQLITE_LIMIT_LIKE_PATTERN_LENGTH``)."""

_SCHEMA_PRAGMAS = frozenset(
    {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"}
)
_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})

# An allowlist rather than a denylist: a function nobody has reviewed (one a newer SQLite adds, or
# one another build compiles in, like the shell's readfile()/writefile()) is refused, not allowed by
# default. It is feasible: these names cover SQLite's core, date, math, JSON, aggregate and window
# functions and the FTS ones that query an existing full-text table; every function this build
# lists in pragma_function_list is here or in _REFUSED_FUNCTIONS (a test checks that, so an upgrade
# that adds one fails loudly), and names from newer releases (concat, unhex, jsonb_*, ...) are
# listed so an upgrade keeps them working. The authorizer sees each function's registered name.
_ALLOWED_FUNCTIONS = frozenset(
    (
        # core scalar functions
        "abs changes char coalesce concat concat_ws format glob hex if ifnull iif instr last_insert_rowid length like"
        " likelihood likely lower ltrim max min nullif octet_length printf quote random randomblob replace round rtrim"
        " sign soundex sqlite_compileoption_get sqlite_compileoption_used sqlite_source_id sqlite_version substr"
        " substring subtype total_changes trim typeof unhex unicode unistr unistr_quote unlikely upper zeroblob"
        # date and time; math
        " date time datetime julianday unixepoch strftime timediff current_date current_time current_timestamp"
        " acos acosh asin asinh atan atan2 atanh ceil ceiling cos cosh degrees exp floor ln log log10 log2 mod pi pow"
        " power radians sin sinh sqrt tan tanh trunc"
        # JSON
        " json json_array json_array_length json_error_position json_extract json_insert json_object json_patch"
        " json_pretty json_quote json_remove json_replace json_set json_type json_valid json_group_array"
        " json_group_object -> ->> jsonb jsonb_array jsonb_extract jsonb_insert jsonb_object jsonb_patch jsonb_remove"
        " jsonb_replace jsonb_set jsonb_group_array jsonb_group_object"
        # aggregate; window
        " avg count group_concat string_agg sum total median percentile percentile_cont percentile_disc"
        " row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value"
        # querying an existing FTS3/4/5 table
        " match bm25 highlight snippet matchinfo offsets fts5_source_id"
    ).split()
)
_REFUSED_FUNCTIONS = {
    "load_extension": "it loads native code from a file",
    "fts3_tokenizer": "it returns a pointer into the SQLite library, and with two arguments registers native code",
    "fts5": "it hands out a pointer to the FTS5 C API",
    "optimize": "it rewrites an FTS3/4 index",
    "rtreenode": "it is an R*Tree debugging function that decodes raw node blobs",
    "rtreedepth": "it is an R*Tree debugging function that decodes raw node blobs",
    "rtreecheck": "it is an R*Tree debugging function that reads a whole table in one call, which no deadline stops",
    "sqlite_log": "it writes to the process's error log",
    "readfile": "it reads files (an sqlite3 shell function)",
    "writefile": "it writes files (an sqlite3 shell function)",
    "edit": "it starts an editor (an sqlite3 shell function)",
}
"""Functions refused with a reason; any other name not in :data:`_ALLOWED_FUNCTIONS` is refused too."""

# trim(X, Y), ltrim and rtrim compare each character of X with each character of Y in turn: 0.72 s
# at 10,000 x 10,000 characters, 50 s at 100,000 x 100,000, so no value limit tames them. Their
# two-argument forms are replaced by a linear version with the same results (a test compares them).
_TRIM_SIDES = {"trim": (True, True), "ltrim": (True, False), "rtrim": (False, True)}
_TRIM_WORK_LIMIT = 1_000_000
"""Most (value length x character-set length) a trim of a blob hands to SQLite's own trim (~5 ms)."""

Cell = int | float | str | None
"""One value of a result row; blobs come back as ``<blob N bytes: hex...>`` text."""

Truncation = Literal["row_limit", "byte_budget"]
"""Why a query returned fewer rows than it has: ``row_limit``, more rows than ``limit``;
``byte_budget``, the next row would have taken the result past the server's byte budget."""


class DatabaseOpenError(Exception):
    """The database file is missing or is not SQLite."""


def _authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    if action in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _ALLOWED_FUNCTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in _SCHEMA_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _linear_trim(name: str) -> Callable[[object, object], object]:
    """``name(X, Y)`` (trim, ltrim or rtrim) in time linear in ``X``, with SQLite's results."""
    left, right = _TRIM_SIDES[name]
    scratch: list[sqlite3.Connection] = []  # SQLite's own functions, for what Python can't redo exactly

    def builtin(sql: str, *args: object) -> object:
        if not scratch:
            scratch.append(sqlite3.connect(":memory:", check_same_thread=False))
        return scratch[0].execute(sql, args).fetchone()[0]

    def text(value: object) -> object:  # SQLite's text of a number; a blob stays bytes
        if isinstance(value, float):
            return builtin("SELECT CAST(? AS TEXT)", value)
        return str(value) if isinstance(value, int) else value

    def trim(value: object, chars: object) -> object:
        if value is None or chars is None:
            return None
        value, chars = text(value), text(chars)
        if isinstance(value, bytes) or isinstance(chars, bytes):  # SQLite trims a blob's bytes as text
            if len(value) * len(chars) > _TRIM_WORK_LIMIT:  # type: ignore[arg-type]
                raise ValueError(f"{name}() of a blob over a long character set")
            return builtin(f"SELECT {name}(?, ?)", value, chars)
        assert isinstance(value, str) and isinstance(chars, str)
        strip = set(chars.partition("\x00")[0])  # SQLite reads the character set up to its first NUL
        start, end = 0, len(value)
        while left and start < end and value[start] in strip:
            start += 1
        while right and end > start and value[end - 1] in strip:
            end -= 1
        return value[start:end]

    return trim


SCHEMA_SUMMARY_CHARS = 2000
"""The most characters of table and column names the server's instructions carry; a bigger
schema is named table by table until the budget runs out, and the rest left to list_tables."""


def _schema_summary(conn: sqlite3.Connection) -> str:
    """``Tables: name(col, ...); ...``: the schema a model needs to write a query without guessing columns."""
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    if not names:
        return "The database has no tables yet."
    parts: list[str] = []
    used = 0
    for index, name in enumerate(names):
        columns = ", ".join(row[1] for row in conn.execute(f"PRAGMA table_info({_quote(name)})"))
        part = f"{name}({columns})"
        if used + len(part) > SCHEMA_SUMMARY_CHARS:
            parts.append(f"and {len(names) - index} more (list_tables, describe)")
            break
        parts.append(part)
        used += len(part) + 2
    return "Tables and their columns: " + "; ".join(parts) + "."


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
    conn.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, MAX_PATTERN_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_CHARS)
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    for name in _TRIM_SIDES:
        conn.create_function(name, 2, _linear_trim(name), deterministic=True)
    conn.set_authorizer(_authorize)
    return conn


@contextmanager
def _deadline(conn: sqlite3.Connection, seconds: float) -> Iterator[None]:
    """Interrupt any statement on ``conn`` that runs longer than ``seconds``.

    A timer thread calls ``conn.interrupt()``, which SQLite checks at the bottom of every loop (the
    progress handler it replaces was checked there too, but only once per N VM steps). Measured on a
    query calling a 10-20 ms instr() per row, 1 s deadline: the handler every 10,000 steps stopped it
    after 9.0 s, every 1,000 after 1.18 s, every 100 after 1.03 s; the timer after 1.02 s. On plain
    VM work (2M-row recursive CTE, median of 7) the handler cost 1.7% / 5.5% / 25% CPU, the timer 0%.
    The lock keeps the timer from touching ``conn`` once the block has left (and closed it).

    What runs between two such checks is not stopped: the expressions of one row run to its end.
    Each call in them is bounded by the limits above, but a query can repeat one many times (a
    subquery column referenced 50 times repeats its instr() 50 times: 3.2 s at the value limit), and
    SQLite only asks the authorizer once. Bounding that needs the query in a process one can kill.
    """
    lock = threading.Lock()
    done = False

    def stop() -> None:
        with lock:
            if not done:
                conn.interrupt()

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            done = True
        timer.cancel()


def _cell(value: object) -> Cell:
    if isinstance(value, bytes):
        return f"<blob {len(value)} bytes: {value[:32].hex()}{'...' if len(value) > 32 else ''}>"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        return value[:MAX_CELL_CHARS] + f"... [{len(value) - MAX_CELL_CHARS} more characters]"
    return value  # type: ignore[return-value]


def _cell_bytes(cell: Cell) -> int:
    if isinstance(cell, str):
        return len(cell) if cell.isascii() else len(cell.encode("utf-8", "surrogatepass"))
    return 4 if cell is None else 8


def _fetch(cursor: sqlite3.Cursor, limit: int, budget: int) -> tuple[list[list[Cell]], Truncation | None]:
    """Read ``cursor`` one row at a time, clipping each cell as it arrives, up to ``limit`` rows and
    ``budget`` bytes of cells; only one raw row (at most its columns x MAX_VALUE_BYTES) is held."""
    rows: list[list[Cell]] = []
    used = 0
    for raw in cursor:
        if len(rows) == limit:
            return rows, "row_limit"
        row = [_cell(value) for value in raw]
        used += sum(map(_cell_bytes, row))
        if used > budget:
            return rows, "byte_budget"
        rows.append(row)
    return rows, None


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
    """Rows of a query: at most ``limit`` of them, and at most the server's byte budget of cells."""

    columns: list[str]
    rows: list[list[Cell]] = Field(description="One list of values per row, in column order.")
    row_count: int = Field(description="Rows returned.")
    truncated: bool = Field(description="True if the query had more rows than were returned.")
    truncated_by: Truncation | None = Field(
        default=None, description="What cut the rows short: 'row_limit' or 'byte_budget'; null if nothing did."
    )
    note: str | None = Field(default=None, description="Why the rows were cut short and how to ask for less.")
    elapsed_ms: float


def create_server(
    db_path: str | os.PathLike[str],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
) -> MCPServer:
    """Build the sql server over the SQLite file ``db_path`` (checked now; never created).

    Raises:
        DatabaseOpenError: The file does not exist or is not a SQLite database.
    """
    with closing(connect_readonly(db_path)) as conn:
        tables = _schema_summary(conn)
    server = McploomServer(
        "mcploom-sql",
        instructions=(
            f"Read-only SQL over the SQLite database {Path(db_path).name}. Answer questions about its data "
            "with one SELECT through query, doing any arithmetic the question asks (sums, ratios, percentages, "
            f"ROUND) in that SELECT. {tables}"
        ),
    )

    def run(sql: str, params: Sequence[object] = ()) -> tuple[list[str], list[tuple]]:
        """Every row of one of the server's own queries, as SQLite returns them."""
        with closing(connect_readonly(db_path)) as conn, _deadline(conn, timeout_s):
            try:
                cursor = conn.execute(sql, params)
                return [d[0] for d in cursor.description or ()], cursor.fetchall()
            except (sqlite3.Error, sqlite3.Warning) as exc:
                raise ToolError(_explain(exc, timeout_s)) from None

    def table_type(name: str) -> str:
        _, rows = run("SELECT type FROM sqlite_master WHERE name = ? AND type IN ('table', 'view')", (name,))
        if not rows:
            names = [t.name for t in list_tables().tables]
            raise ToolError(f"No table or view named {name!r}. Tables here: {', '.join(names) or '(none)'}.")
        return rows[0][0]

    @server.resource("sql://schema", mime_type="text/plain")
    def schema() -> str:
        """The CREATE statements of every table, view and index."""
        _, rows = run("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'")
        return ";\n\n".join(row[0] for row in rows) + ";\n"

    @server.tool(annotations=READ_ONLY)
    def list_tables() -> TableList:
        """List the tables and views in the database."""
        _, rows = run(
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
        _, cols = run(f"PRAGMA table_info({quoted})")
        _, idx = run(f"PRAGMA index_list({quoted})")
        _, fks = run(f"PRAGMA foreign_key_list({quoted})")
        _, sql = run("SELECT sql FROM sqlite_master WHERE name = ?", (table,))
        try:
            _, count = run(f"SELECT count(*) FROM {quoted}")
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
        try:
            with closing(connect_readonly(db_path)) as conn, _deadline(conn, timeout_s):
                cursor = conn.execute(sql)
                columns = [d[0] for d in cursor.description or ()]
                rows, cut = _fetch(cursor, limit, max_result_bytes)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise ToolError(_explain(exc, timeout_s)) from None
        except MemoryError:
            raise ToolError(f"The query's result did not fit in memory (MemoryError). {_ASK_FOR_LESS}.") from None
        note = None
        if cut == "row_limit":
            note = f"Stopped at limit={limit} rows; there are more. Narrow it with WHERE, or ask for up to {max_rows}."
        elif cut == "byte_budget":
            note = (
                f"Stopped after {len(rows)} rows: the next would take the result past this server's budget of "
                f"{max_result_bytes:,} bytes of cells. {_ASK_FOR_LESS}."
            )
        return QueryResult(
            columns=columns,
            rows=rows,
            row_count=len(rows),
            truncated=cut is not None,
            truncated_by=cut,
            note=note,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    return server


_ASK_FOR_LESS = "Ask for less: select fewer columns, shorten long text with substr(col, 1, 200), or set a smaller limit"


def _explain(exc: sqlite3.Error | sqlite3.Warning, timeout_s: float) -> str:
    """Say why SQLite refused a statement, and what to send instead."""
    text = str(exc)
    if "one statement" in text:
        return f"{text} Send a single SELECT statement, without ';' between statements."
    if text.startswith("not authorized to use function:"):
        name = text.partition(":")[2].strip().lower()
        reason = _REFUSED_FUNCTIONS.get(name, "it is not on this server's list of allowed functions")
        return (
            f"Refused: {name}() is not available on this read-only server ({reason}). "
            "Use SQLite's core, date, math, JSON, aggregate and window functions."
        )
    if "authoriz" in text or "readonly" in text or "query_only" in text:
        return (
            f"Refused ({text}): this database is read-only. Only SELECT and WITH ... SELECT run here; "
            "INSERT, UPDATE, DELETE, CREATE, ATTACH and most PRAGMAs are not allowed."
        )
    if "interrupted" in text:
        return f"The query ran longer than {timeout_s:g} s and was stopped. Add a WHERE clause or a LIMIT."
    if "too big" in text:
        return (
            f"A value in this query is over {MAX_VALUE_BYTES:,} bytes, this server's limit for one string or "
            f"blob (SQLite: {text}). Values that big can't be read or built here: leave that column out "
            "(typeof(col) still works on it, and length(col) on a blob), or build a smaller value."
        )
    if "pattern too complex" in text:
        return (
            f"A LIKE or GLOB pattern is over {MAX_PATTERN_BYTES} bytes, this server's limit (SQLite: {text}). "
            "Use a shorter pattern; to find a long literal, use instr(col, '...') > 0."
        )
    if "user-defined function raised exception" in text:  # only the two-argument trims are ours
        return (
            f"trim(), ltrim() or rtrim() with a character set could not run (SQLite: {text}): on a blob with "
            "a long character set it is too slow here. CAST the blob AS TEXT, or trim a shorter value."
        )
    return f"SQLite error: {text}. Check table and column names with list_tables and describe."


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "db_path", metavar="DB_PATH", type=existing_file, help="Existing SQLite database file (opened read-only)."
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="Seconds per query.")
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, help="Largest allowed row limit.")
    parser.add_argument(
        "--max-result-bytes",
        type=int,
        default=DEFAULT_MAX_RESULT_BYTES,
        help="Most bytes of cell data one query returns.",
    )


def _from_arguments(args: argparse.Namespace) -> MCPServer:
    try:
        return create_server(
            args.db_path, timeout_s=args.timeout, max_rows=args.max_rows, max_result_bytes=args.max_result_bytes
        )
    except DatabaseOpenError as exc:
        raise SystemExit(f"mcploom serve sql: {exc}") from None


COMMAND = ServerCommand("sql", __doc__.splitlines()[0], _from_arguments, _add_arguments)
"""``python -m mcploom.mcp_servers.sql DB_PATH`` (``mcploom serve sql``)."""

main = COMMAND.main

if __name__ == "__main__":
    main()
