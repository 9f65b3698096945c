"""The scale-out option: a real ``chroma run`` server on 127.0.0.1 reached through ``HttpClient``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcploom import rag
from tests.net import free_port


def _chroma_cli() -> str | None:
    beside = Path(sys.executable).with_name("chroma")
    return str(beside) if beside.exists() else shutil.which("chroma")


@pytest.fixture
def chroma_server(tmp_path: Path):
    cli = _chroma_cli()
    if cli is None:
        pytest.skip("the `chroma` CLI (shipped with chromadb) is not installed; pip install chromadb")
    port = free_port()
    server = subprocess.Popen(
        [cli, "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert server.poll() is None, "chroma run exited early"
                assert time.monotonic() < deadline, "chroma run did not listen within 90 s"
                time.sleep(0.3)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_index_on_a_chroma_server(tmp_path: Path, chroma_server: int, embedder) -> None:
    index = rag.open_index(tmp_path / "local", "remote-notes", embedder=embedder, host="127.0.0.1", port=chroma_server)
    index.add(
        [
            rag.Document(source="a.txt", text="The server stores vectors for the whole team."),
            rag.Document(source="b.txt", text="Bananas are rich in potassium."),
        ]
    )
    assert index.search("potassium fruit", k=1, mode="dense").chunks[0].source == "b.txt"
    assert index.search("team vectors", k=1).chunks[0].source == "a.txt"
    assert "remote-notes" in rag.list_collections(host="127.0.0.1", port=chroma_server)
    assert not (tmp_path / "local" / "chroma").exists(), "vectors must live on the server"
    assert (tmp_path / "local" / "bm25" / "remote-notes" / "CURRENT").exists()


def test_unreachable_server_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(rag.StoreError, match="chroma run --path"):
        rag.open_index(tmp_path, "x-notes", host="127.0.0.1", port=free_port())
