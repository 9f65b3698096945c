"""The sql server through an in-process MCP client: schema tools, queries, limits, a write-attempt suite."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from mcp import Client

from mcploom.mcp_servers.sql import DatabaseOpenError, create_server, main


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_tools_are_read_only_with_output_schemas(sample_db: Path) -> None:
    async with Client(create_server(sample_db)) as client:
        tools = (await client.list_tools()).tools
        resources = (await client.list_resources()).resources
    assert {tool.name for tool in tools} == {"list_tables", "describe", "query"}
    for tool in tools:
        assert tool.annotations.read_only_hint is True and tool.annotations.destructive_hint is False
        assert tool.output_schema and tool.description
    assert [str(r.uri) for r in resources] == ["sql://schema"]


async def test_list_tables_and_describe(sample_db: Path) -> None:
    async with Client(create_server(sample_db)) as client:
        tables = await client.call_tool("list_tables", {})
        orders = await client.call_tool("describe", {"table": "orders"})
        view = await client.call_tool("describe", {"table": "big_orders"})
        unknown = await client.call_tool("describe", {"table": "order"})
        schema = await client.read_resource("sql://schema")
    assert tables.structured_content == {
        "tables": [
            {"name": "big_orders", "type": "view"},
            {"name": "customers", "type": "table"},
            {"name": "orders", "type": "table"},
        ]
    }
    described = orders.structured_content
    assert [c["name"] for c in described["columns"]] == ["id", "customer_id", "total"]
    assert described["columns"][0]["primary_key"] and described["columns"][1]["not_null"]
    assert described["indexes"] == ["orders_by_customer"]
    assert described["foreign_keys"] == [
        {"column": "customer_id", "references_table": "customers", "references_column": "id"}
    ]
    assert described["row_count"] == 4
    assert view.structured_content["type"] == "view" and view.structured_content["row_count"] == 2
    assert unknown.is_error and "customers, orders" in unknown.content[0].text
    assert "CREATE TABLE customers" in schema.contents[0].text


async def test_query_rows_limit_and_cells(sample_db: Path) -> None:
    async with Client(create_server(sample_db, max_rows=3)) as client:
        joined = await client.call_tool(
            "query",
            {
                "sql": "SELECT c.name, sum(o.total) AS spent FROM customers c "
                "JOIN orders o ON o.customer_id = c.id GROUP BY c.name ORDER BY spent DESC",
                "limit": 2,
            },
        )
        odd = await client.call_tool("query", {"sql": "SELECT x'00ff', 1e999, NULL, 'a'", "limit": 1})
        over = await client.call_tool("query", {"sql": "SELECT 1", "limit": 4})
        bad = await client.call_tool("query", {"sql": "SELECT nme FROM customers"})
        cte = await client.call_tool("query", {"sql": "WITH t AS (SELECT 2 AS n) SELECT n * 21 FROM t", "limit": 3})
    assert joined.structured_content["columns"] == ["name", "spent"]
    assert joined.structured_content["rows"] == [["Ada", 270.5], ["Grace", 120.0]]
    assert joined.structured_content["truncated"] is True
    assert odd.structured_content["rows"] == [["<blob 2 bytes: 00ff>", "inf", None, "a"]]
    assert over.is_error and "maximum of 3" in over.content[0].text
    assert bad.is_error and "no such column: nme" in bad.content[0].text
    assert cte.structured_content["rows"] == [[42]]


async def test_slow_query_is_stopped(sample_db: Path) -> None:
    endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
    async with Client(create_server(sample_db, timeout_s=0.3)) as client:
        result = await client.call_tool("query", {"sql": endless})
        after = await client.call_tool("query", {"sql": "SELECT count(*) FROM orders"})
    assert result.is_error and "longer than 0.3 s" in result.content[0].text
    assert after.structured_content["rows"] == [[4]]


async def test_huge_values_and_sql_are_refused(sample_db: Path) -> None:
    async with Client(create_server(sample_db)) as client:
        blob = await client.call_tool("query", {"sql": "SELECT zeroblob(50000000)"})
        long_sql = await client.call_tool("query", {"sql": "SELECT " + "1+" * 60_000 + "1"})
    assert blob.is_error and "too big" in blob.content[0].text
    assert long_sql.is_error and "100000" in long_sql.content[0].text


def test_missing_database_is_a_startup_error_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(DatabaseOpenError, match="No SQLite database"):
        create_server(missing)
    with pytest.raises(SystemExit):  # argparse's usage error: "argument DB_PATH: no file at ..."
        main([str(missing)])
    assert not missing.exists()
    (tmp_path / "text.db").write_text("not a database at all, just text" * 10)
    with pytest.raises(DatabaseOpenError, match="not a readable SQLite database"):
        create_server(tmp_path / "text.db")


WRITE_ATTEMPTS = [
    "INSERT INTO orders (customer_id, total) VALUES (1, 1.0)",
    "INSERT INTO orders (customer_id, total) VALUES (1, 1.0) RETURNING id",
    "INSERT OR IGNORE INTO customers (id, name) VALUES (1, 'x')",
    "INSERT INTO customers (id, name) VALUES (1, 'x') ON CONFLICT(id) DO UPDATE SET name = 'x'",
    "REPLACE INTO customers (id, name) VALUES (1, 'x')",
    "UPDATE customers SET name = 'x'",
    "DELETE FROM orders",
    "  delete from orders  ",
    "/* comment */ DELETE FROM orders",
    "DELETE FROM orders; -- trailing comment",
    "SELECT 1; DELETE FROM orders",
    "SELECT 1; SELECT 2",
    "WITH x AS (SELECT 1) DELETE FROM orders",
    "WITH x AS (SELECT 1) INSERT INTO orders (customer_id, total) SELECT 1, 2.0 FROM x",
    "WITH x AS (SELECT 1) UPDATE customers SET name = 'x'",
    "DROP TABLE orders",
    "DROP VIEW big_orders",
    "DROP INDEX orders_by_customer",
    "CREATE TABLE t (x)",
    "CREATE TEMP TABLE t (x)",
    "CREATE INDEX i ON customers(name)",
    "CREATE VIEW v AS SELECT 1",
    "CREATE TRIGGER tr AFTER INSERT ON orders BEGIN DELETE FROM customers; END",
    "CREATE VIRTUAL TABLE ft USING fts5(body)",
    "ALTER TABLE customers ADD COLUMN age INTEGER",
    "ALTER TABLE customers RENAME TO people",
    "ATTACH DATABASE ':memory:' AS scratch",
    "ATTACH DATABASE '{dir}/attached.db' AS other",
    "DETACH DATABASE main",
    "PRAGMA writable_schema = ON",
    "PRAGMA writable_schema",
    "PRAGMA journal_mode = WAL",
    "PRAGMA user_version = 7",
    "PRAGMA query_only = OFF",
    "VACUUM",
    "VACUUM INTO '{dir}/copy.db'",
    "REINDEX",
    "ANALYZE",
    "BEGIN IMMEDIATE",
    "SAVEPOINT s",
    "SELECT load_extension('/tmp/evil.so')",
]


@pytest.mark.parametrize("sql", WRITE_ATTEMPTS)
async def test_write_attempt_fails_and_leaves_the_file_unchanged(sql: str, sample_db: Path, quiet_sdk_logs) -> None:
    statement = sql.replace("{dir}", str(sample_db.parent))
    before = _sha256(sample_db)
    files_before = sorted(os.listdir(sample_db.parent))
    async with Client(create_server(sample_db)) as client:
        result = await client.call_tool("query", {"sql": statement})
        still = await client.call_tool("query", {"sql": "SELECT count(*) FROM orders"})
    assert result.is_error, f"{statement!r} was not refused: {result.structured_content}"
    message = result.content[0].text
    assert "read-only" in message or "one statement" in message, message
    assert still.structured_content["rows"] == [[4]]
    assert _sha256(sample_db) == before
    assert sorted(os.listdir(sample_db.parent)) == files_before


def test_write_suite_is_large_enough() -> None:
    assert len(WRITE_ATTEMPTS) >= 30


async def test_wal_database_is_read_and_its_file_left_unchanged(tmp_path: Path) -> None:
    """A WAL-mode file: SQLite's readers add -wal/-shm side files, the database file stays byte-identical."""
    import sqlite3

    path = tmp_path / "wal.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.execute("INSERT INTO t VALUES (1), (2)")
    conn.commit()
    conn.close()
    before = _sha256(path)
    async with Client(create_server(path)) as client:
        rows = await client.call_tool("query", {"sql": "SELECT sum(x) FROM t"})
        write = await client.call_tool("query", {"sql": "INSERT INTO t VALUES (3)"})
    assert rows.structured_content["rows"] == [[3]]
    assert write.is_error and "read-only" in write.content[0].text
    assert _sha256(path) == before


async def test_instructions_name_every_table_and_its_columns(sample_db: Path) -> None:
    async with Client(create_server(sample_db)) as client:
        instructions = client.instructions
    assert "customers(id, name, city)" in instructions and "big_orders(" in instructions
    assert "orders(id, customer_id," in instructions


def test_a_schema_too_big_for_the_instructions_is_named_in_part(tmp_path: Path) -> None:
    import sqlite3

    from mcploom.mcp_servers.sql import SCHEMA_SUMMARY_CHARS

    path = tmp_path / "wide.db"
    with sqlite3.connect(path) as db:
        columns = ", ".join(f"column_number_{i} TEXT" for i in range(40))
        for table in range(10):
            db.execute(f"CREATE TABLE table_{table} ({columns})")
    instructions = create_server(path).instructions
    assert "more (list_tables, describe)" in instructions
    assert len(instructions) < SCHEMA_SUMMARY_CHARS + 400
