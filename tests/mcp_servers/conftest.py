"""Fixtures for the MCP server tests: sample data, server command lines, stdio and HTTP launchers."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from mcp import StdioServerParameters

from tests.net import free_port, stop

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_ENV = {"PYTHONUNBUFFERED": "1", "OMP_WAIT_POLICY": "PASSIVE"}


@pytest.fixture
def files_root(tmp_path: Path) -> Path:
    """A root with a few text files, next to an ``outside`` directory holding a secret."""
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    (root / "notes.txt").write_text("alpha\nbeta\ngamma\n")
    (root / "docs" / "guide.md").write_text("# Guide\nInstall with pip.\nThen run it.\n")
    (root / "docs" / "api.md").write_text("# API\nCall search().\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP-SECRET\n")
    return root


@pytest.fixture
def sample_db(tmp_path: Path) -> Path:
    """A small SQLite database in rollback-journal mode: two tables, a view and an index."""
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT DEFAULT 'Paris');
            CREATE TABLE orders (
                id INTEGER PRIMARY KEY,
                customer_id INTEGER NOT NULL REFERENCES customers(id),
                total REAL NOT NULL
            );
            CREATE INDEX orders_by_customer ON orders(customer_id);
            CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
            INSERT INTO customers (name, city)
                VALUES ('Ada', 'London'), ('Linus', 'Helsinki'), ('Grace', 'NYC');
            INSERT INTO orders (customer_id, total) VALUES (1, 250.0), (1, 20.5), (2, 99.9), (3, 120.0);
            """
        )
    conn.close()
    return path


@pytest.fixture
def server_args(files_root: Path, sample_db: Path, tmp_path: Path) -> Callable[[str], list[str]]:
    """The command-line arguments each of our servers needs, by name (rag: an empty index folder
    and the files root to ingest from; agent: nothing, its model loads on the first ask)."""

    def args(name: str) -> list[str]:
        return {
            "utility": [],
            "files": [str(files_root)],
            "sql": [str(sample_db)],
            "rag": ["--data-dir", str(tmp_path / "index"), "--allow-root", str(files_root), "--allow-delete"],
            "agent": [],
        }[name]

    return args


@pytest.fixture
def stdio_params() -> Callable[..., StdioServerParameters]:
    """``stdio_params(name, *args)``: how to spawn ``python -m mcploom.mcp_servers.<name>``."""

    def make(name: str, *args: str) -> StdioServerParameters:
        return StdioServerParameters(
            command=sys.executable,
            args=["-m", f"mcploom.mcp_servers.{name}", *args],
            cwd=str(REPO_ROOT),
            env=SERVER_ENV,
        )

    return make


@pytest.fixture
def http_server(tmp_path: Path) -> Callable[..., AsyncIterator[str]]:
    """``async with http_server(name, *args) as url``: a server process on streamable HTTP, 127.0.0.1."""

    @asynccontextmanager
    async def start(name: str, *args: str) -> AsyncIterator[str]:
        port = free_port()
        log_path = tmp_path / f"{name}-http.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                f"mcploom.mcp_servers.{name}",
                *args,
                "--http",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=REPO_ROOT,
            env={**os.environ, **SERVER_ENV},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}: {log_path.read_text()}")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{name} did not listen on port {port} within 20 s") from None
                    await anyio.sleep(0.05)
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            stop(process)
            log.close()

    return start


def tree_snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder``: file bytes, link targets and directories, for before/after checks."""
    snapshot: dict[str, bytes | str] = {}
    for current, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(current) / name
            key = str(path.relative_to(folder))
            if path.is_symlink():
                snapshot[key] = "link->" + os.readlink(path)
            elif path.is_dir():
                snapshot[key] = "dir"
            else:
                snapshot[key] = path.read_bytes()
    return snapshot


@pytest.fixture
def snapshot() -> Callable[[Path], dict[str, bytes | str]]:
    """``snapshot(folder)``: the bytes of every file and link under ``folder``."""
    return tree_snapshot


@pytest.fixture
def quiet_sdk_logs() -> Iterator[None]:
    """In-process servers log refusals at INFO; keep test output readable."""
    import logging

    level = logging.getLogger("mcp").level
    logging.getLogger("mcp").setLevel(logging.WARNING)
    yield
    logging.getLogger("mcp").setLevel(level)
