"""The ``ingest`` and ``search`` CLI commands, driven through Typer's CliRunner on a real index."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mcploom.agents.cli.rag import register
from tests.rag.conftest import write_corpus

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MCPLOOM_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


def test_ingest_then_search_prints_a_table(app: typer.Typer, home: Path, corpus: Path) -> None:
    (corpus / "junk.txt").write_bytes(b"\x00\x01binary")
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(corpus), "--collection", "notes"])
    assert result.exit_code == 0, result.output
    assert "28 added, 0 updated, 0 unchanged, 0 removed, 1 failed" in result.stdout
    assert "junk.txt" in result.stderr and "binary" in result.stderr
    assert (home / "rag" / "chroma").is_dir()

    again = runner.invoke(app, ["ingest", str(corpus), "--collection", "notes"])
    assert "0 added, 0 updated, 28 unchanged" in again.stdout

    found = runner.invoke(
        app, ["search", "how long should spaghetti boil", "--collection", "notes", "-k", "2"], env={"COLUMNS": "300"}
    )
    assert found.exit_code == 0, found.output
    assert "pasta.md" in found.stdout and "hybrid: how long should spaghetti boil" in found.stdout
    bm25 = runner.invoke(
        app, ["search", "handshake", "--collection", "notes", "--mode", "bm25", "-k", "1"], env={"COLUMNS": "300"}
    )
    assert "tcp.txt" in bm25.stdout


def test_errors_exit_1_with_a_message_and_no_traceback(app: typer.Typer, home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["ingest", str(tmp_path / "nope")])
    assert missing.exit_code == 1
    assert "no such file or directory" in missing.stderr and "Traceback" not in missing.output
    unknown = runner.invoke(app, ["search", "x", "--collection", "absent"])
    assert unknown.exit_code == 1
    assert "No collection 'absent'" in unknown.stderr and "mcploom ingest" in unknown.stderr
    bad_mode = runner.invoke(app, ["search", "x", "--mode", "fuzzy"])
    assert bad_mode.exit_code == 1 and "At --mode: 'fuzzy' is not a search mode" in bad_mode.stderr
    assert "hybrid, dense, bm25" in bad_mode.stderr
    bad_name = runner.invoke(app, ["ingest", str(tmp_path), "--collection", "a"])
    assert bad_name.exit_code == 1 and "Invalid collection name" in bad_name.stderr
    for result in (missing, unknown, bad_mode, bad_name):
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("Error: ")


def test_registering_the_commands_imports_no_heavy_library() -> None:
    code = (
        "import sys, typer; from mcploom.agents.cli.rag import register; register(typer.Typer()); "
        "print([m for m in ('chromadb', 'torch', 'sentence_transformers', 'bm25s') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
