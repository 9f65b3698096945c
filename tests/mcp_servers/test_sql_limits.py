"""The sql server's bounds on time, memory and functions, against pathological queries.

Every test here failed against the server before these bounds (the time cases ran 9-50 s each, the
big ``SELECT *`` kept every raw value, ``fts3_tokenizer`` returned a pointer); each now ends in about
a second with a result or a message that says what to do.
"""

from __future__ import annotations

import json
import sqlite3
import time
import tracemalloc
from contextlib import closing
from pathlib import Path

import pytest
from mcp import Client

from mcploom.mcp_servers import sql
from mcploom.mcp_servers.sql import connect_readonly, create_server

TIMEOUT_S = 1.0
MARGIN_S = 2.0


def _a(n: int, tail: str = "") -> str:
    """SQL for a string of ``n`` 'a's, optionally followed by ``tail`` (NULL if over the value limit)."""
    return f"printf('%.*c', {n}, 'a')" + (f" || '{tail}'" if tail else "")


def _nuls(n: int) -> str:
    """SQL for a string of ``n`` NUL characters (an error if over the value limit)."""
    return f"CAST(zeroblob({n}) AS TEXT)"


PATHOLOGICAL = {
    # instr()/replace() are O(n*m): 24 s at 2M/1M characters under the old 10 MB value limit.
    "instr 2M/1M": (f"SELECT instr({_nuls(2_000_000)}, {_nuls(1_000_000)} || 'b')", "100,000 bytes"),
    "replace 2M/1M": (f"SELECT length(replace({_nuls(2_000_000)}, {_nuls(1_000_000)} || 'b', 'c'))", "100,000 bytes"),
    # One such call per row: the old progress handler looked at the clock every 10,000 VM steps (~500 rows).
    "instr on every row": (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
        f"SELECT count(*) FROM n WHERE instr(printf('%.*c', 99000 + x % 2, 'a'), {_a(49_000, 'b')}) > 0",
        f"longer than {TIMEOUT_S:g} s",
    ),
    # LIKE/GLOB cost value length x pattern length; SQLite's default pattern limit is 50,000 bytes.
    "LIKE with a long pattern": (f"SELECT {_a(99_000)} LIKE '%' || {_a(40_000, 'b')}", "500 bytes"),
    "GLOB with a long pattern": (f"SELECT {_a(99_000)} GLOB '*' || {_a(40_000, 'b')}", "500 bytes"),
}


@pytest.mark.parametrize("name", PATHOLOGICAL)
async def test_pathological_calls_end_within_the_deadline(name: str, sample_db: Path, quiet_sdk_logs) -> None:
    statement, expected = PATHOLOGICAL[name]
    async with Client(create_server(sample_db, timeout_s=TIMEOUT_S)) as client:
        started = time.monotonic()
        result = await client.call_tool("query", {"sql": statement})
        elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT_S + MARGIN_S, f"{name} took {elapsed:.1f} s"
    assert result.is_error, f"{name} was not refused: {result.structured_content}"
    message = result.content[0].text
    assert expected in message, message
    assert "string or blob too big" not in message or "leave that column out" in message, message


async def test_trim_with_a_long_character_set_is_linear(sample_db: Path) -> None:
    """SQLite's own trim(X, Y) took 50 s here (every character of X against every one of Y)."""
    statement = f"SELECT length(trim({_a(99_000)}, printf('%.*c', 99000, 'b') || 'a')), rtrim('xxabcxx', 'x')"
    async with Client(create_server(sample_db, timeout_s=TIMEOUT_S)) as client:
        started = time.monotonic()
        result = await client.call_tool("query", {"sql": statement})
        elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT_S + MARGIN_S, f"took {elapsed:.1f} s"
    assert result.structured_content["rows"] == [[0, "xxabc"]]


@pytest.fixture
def values_db(tmp_path: Path) -> Path:
    """One row with a value just under the value limit, one with a value over it."""
    path = tmp_path / "values.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT, data BLOB)")
        conn.execute("INSERT INTO docs VALUES (1, ?, ?)", ("x" * 99_000 + "needle", b"\x01" * 99_000))
        conn.execute("INSERT INTO docs VALUES (2, ?, ?)", ("y" * 2_000_000, b"\x02" * 5_000_000))
        conn.commit()
    return path


async def test_values_near_the_limit_work_and_bigger_ones_say_what_to_do(values_db: Path, quiet_sdk_logs) -> None:
    async with Client(create_server(values_db)) as client:
        near = await client.call_tool(
            "query",
            {
                "sql": "SELECT length(body), instr(body, 'needle'), substr(body, -6), length(data), "
                "body LIKE '%needle', body, data FROM docs WHERE id = 1"
            },
        )
        over = await client.call_tool("query", {"sql": "SELECT * FROM docs"})
        around = await client.call_tool("query", {"sql": "SELECT id, typeof(body), length(data) FROM docs"})
    row = near.structured_content["rows"][0]
    assert row[:5] == [99_006, 99_001, "needle", 99_000, 1]
    assert row[5].endswith("... [89006 more characters]") and row[6].startswith("<blob 99000 bytes: 0101")
    assert over.is_error
    message = over.content[0].text
    assert "100,000 bytes" in message and "leave that column out" in message, message
    assert around.structured_content["rows"] == [[1, "text", 99_000], [2, "text", 5_000_000]]


@pytest.fixture
def wide_db(tmp_path: Path) -> Path:
    """120 rows of ~450 KB: four 90,000-character texts and a 90,000-byte blob each (54 MB)."""
    path = tmp_path / "wide.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c TEXT, d TEXT, e BLOB)")
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120) "
            "INSERT INTO docs SELECT i, printf('%.*c', 90000, 'a'), printf('%.*c', 90000, 'b'), "
            "printf('%.*c', 90000, 'c'), printf('%.*c', 90000, 'd'), randomblob(90000) FROM n"
        )
        conn.commit()
    return path


async def test_select_star_over_big_rows_stops_at_the_byte_budget(wide_db: Path) -> None:
    budget = sql.DEFAULT_MAX_RESULT_BYTES
    async with Client(create_server(wide_db)) as client:
        tracemalloc.start()
        started = time.monotonic()
        result = await client.call_tool("query", {"sql": "SELECT * FROM docs", "limit": 1000})
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    payload = len(json.dumps(result.structured_content))
    assert payload < budget * 1.1, f"result is {payload:,} bytes"
    # Before the budget, all 120 raw rows (54 MB) were held at once; now one raw row at a time.
    assert peak < 5 * budget, f"peak traced memory {peak:,} bytes"
    assert elapsed < 5, f"took {elapsed:.1f} s"
    content = result.structured_content
    assert content["truncated"] is True and content["truncated_by"] == "byte_budget"
    assert 0 < content["row_count"] < 120 and content["row_count"] == len(content["rows"])
    assert "select fewer columns" in content["note"]
    assert content["rows"][0][5].startswith("<blob 90000 bytes: ")


async def test_row_limit_is_named_and_small_results_are_whole(sample_db: Path) -> None:
    async with Client(create_server(sample_db)) as client:
        cut = await client.call_tool("query", {"sql": "SELECT id FROM orders ORDER BY id", "limit": 2})
        whole = await client.call_tool("query", {"sql": "SELECT id FROM orders ORDER BY id"})
    assert cut.structured_content["rows"] == [[1], [2]]
    assert cut.structured_content["truncated_by"] == "row_limit" and "limit=2" in cut.structured_content["note"]
    assert whole.structured_content["truncated"] is False
    assert whole.structured_content["truncated_by"] is None and whole.structured_content["note"] is None


async def test_running_out_of_memory_is_a_clear_error(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch, quiet_sdk_logs
) -> None:
    def no_memory(value: object) -> object:
        raise MemoryError

    monkeypatch.setattr(sql, "_cell", no_memory)
    async with Client(create_server(sample_db)) as client:
        result = await client.call_tool("query", {"sql": "SELECT * FROM orders"})
    assert result.is_error
    assert "did not fit in memory" in result.content[0].text and "select fewer columns" in result.content[0].text


REFUSED_CALLS = {
    "SELECT fts3_tokenizer('simple')": "pointer",
    "SELECT hex(fts3_tokenizer('simple'))": "pointer",
    "SELECT fts3_tokenizer('evil', x'0000000000000000')": "pointer",
    "SELECT sqlite_log(1, 'forged log line')": "error log",
    "SELECT rtreenode(2, x'00')": "R*Tree",
    "SELECT load_extension('/tmp/evil.so')": "native code",
}


@pytest.mark.parametrize("statement", REFUSED_CALLS)
async def test_dangerous_functions_are_refused(statement: str, sample_db: Path, quiet_sdk_logs) -> None:
    async with Client(create_server(sample_db)) as client:
        result = await client.call_tool("query", {"sql": statement})
    assert result.is_error, f"{statement!r} was not refused: {result.structured_content}"
    message = result.content[0].text
    assert "is not available on this read-only server" in message and REFUSED_CALLS[statement] in message, message


async def test_ordinary_functions_still_work(sample_db: Path) -> None:
    statement = """
        SELECT count(*), sum(o.total), round(avg(o.total), 2), total(o.total), max(o.total), min(o.id),
               group_concat(DISTINCT lower(substr(c.name, 1, 2))), json_extract('{"a": [1, 2]}', '$.a[1]'),
               '{"k": "v"}' ->> '$.k', date('2024-01-31', '+1 day'), strftime('%Y', '2024-05-01'),
               coalesce(NULL, 'x'), iif(1, 'y', 'n'), trim('  t  '), trim('xxtxx', 'x'), ltrim(1200, '1'),
               rtrim(12.50, '0'), abs(-2), upper(replace('ab', 'b', 'c')), instr('hello', 'l'),
               printf('%05.1f', 3.14159), 'abc' LIKE 'A%', 'abc' GLOB 'a*', sqrt(16), length(hex(zeroblob(3))),
               json_group_array(o.id), json_object('n', count(*))
        FROM orders o JOIN customers c ON c.id = o.customer_id
    """
    window = """
        SELECT id, row_number() OVER w, lag(total) OVER w, sum(total) OVER w, rank() OVER (ORDER BY customer_id)
        FROM orders WINDOW w AS (ORDER BY id) ORDER BY id
    """
    async with Client(create_server(sample_db)) as client:
        plain = await client.call_tool("query", {"sql": statement})
        windowed = await client.call_tool("query", {"sql": window})
    assert plain.structured_content["rows"] == [
        [
            *[4, 490.4, 122.6, 490.4, 250.0, 1, "ad,li,gr", 2, "v", "2024-02-01", "2024", "x", "y", "t", "t"],
            *["200", "12.5", 2, "AC", 3, "003.1", 1, 1, 4.0, 6, "[1,2,3,4]", '{"n":4}'],
        ]
    ]
    assert windowed.structured_content["rows"] == [
        [1, 1, None, 250.0, 1],
        [2, 2, 250.0, 270.5, 1],
        [3, 3, 20.5, 370.4, 3],
        [4, 4, 99.9, 490.4, 4],
    ]


def test_every_function_of_this_sqlite_build_is_classified() -> None:
    """A function SQLite gains in an upgrade is refused until it is added to one of the two lists."""
    with closing(sqlite3.connect(":memory:")) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM pragma_function_list")}
    assert not set(sql._ALLOWED_FUNCTIONS) & set(sql._REFUSED_FUNCTIONS)
    unclassified = names - sql._ALLOWED_FUNCTIONS - set(sql._REFUSED_FUNCTIONS)
    assert not unclassified, f"Add these to _ALLOWED_FUNCTIONS or _REFUSED_FUNCTIONS in sql.py: {sorted(unclassified)}"


TRIM_CASES = [
    ("  pad  ", " "),
    ("xxhixx", "x"),
    ("abcba", "ab"),
    ("", "x"),
    ("keep", ""),
    ("éaé", "é"),
    ("😀ok😀", "😀"),
    ("a\x00b", "a"),
    ("bab", "a\x00b"),  # SQLite reads the character set up to its first NUL
    (1200, "1"),
    (12.5, "1"),
    (1e20, "1."),  # SQLite writes it 1.0e+20, Python 1e+20
    (-0.0, "-"),
    (2.5, "0" * 1000 + "2"),
    ("123abc321", 123),
    (b"xxblobxx", "x"),
    (b"\x00\x01\x00", b"\x00"),
    (None, "x"),
    ("x", None),
]


async def test_trimming_a_long_blob_by_many_characters_says_what_to_do(sample_db: Path, quiet_sdk_logs) -> None:
    async with Client(create_server(sample_db)) as client:
        blob = await client.call_tool("query", {"sql": f"SELECT trim(zeroblob(99999), {_a(99)})"})
        text = await client.call_tool("query", {"sql": f"SELECT length(trim(CAST(zeroblob(99999) AS TEXT), {_a(99)}))"})
    assert blob.is_error and "CAST the blob AS TEXT" in blob.content[0].text, blob.content[0].text
    assert text.structured_content["rows"] == [[0]]


@pytest.mark.parametrize("function", ["trim", "ltrim", "rtrim"])
def test_two_argument_trims_match_sqlites_own(function: str, sample_db: Path) -> None:
    with closing(connect_readonly(sample_db)) as ours, closing(sqlite3.connect(":memory:")) as builtin:
        for value, chars in TRIM_CASES:
            statement = f"SELECT {function}(?, ?), typeof({function}(?, ?))"
            expected = builtin.execute(statement, (value, chars, value, chars)).fetchone()
            assert ours.execute(statement, (value, chars, value, chars)).fetchone() == expected, (value, chars)
