"""Kill -9 a real ingest process mid-way, re-run: no duplicates, old versions gone, BM25 and Chroma agree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mcploom import rag
from mcploom.rag.bm25 import fingerprint

from .conftest import REPO

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda omicron sigma omega".split()


def _write(folder: Path, n: int, version: str) -> None:
    for i in range(n):
        body = "\n\n".join(
            f"Paragraph {p} of note {i} ({version}): " + " ".join(WORDS[(i + p + w) % len(WORDS)] for w in range(60))
            for p in range(6)
        )
        (folder / f"note{i:03d}.md").write_text(f"# Note {i} {version}\n\n{body}\n", encoding="utf-8")


CHILD = textwrap.dedent(
    """
    import sys
    from mcploom import rag
    import mcploom.rag.index
    rag.index._Writer.batch_chunks = 6          # many small flushes, so the kill lands mid-ingest
    index = rag.open_index(sys.argv[1], "crash", chunk_tokens=120, overlap_tokens=16)
    index.embedder.embed_query("warm up")
    print("ready", flush=True)
    index.ingest([sys.argv[2]], progress=lambda done, total, src: print("done", done, flush=True))
    print("finished", flush=True)
    """
)


@pytest.mark.slow
def test_kill_during_ingest_then_rerun_leaves_consistent_stores(tmp_path: Path, embedder) -> None:
    data, store = tmp_path / "notes", tmp_path / "index"
    data.mkdir()
    _write(data, 20, "v1")
    index = rag.open_index(store, "crash", embedder=embedder, chunk_tokens=120, overlap_tokens=16)
    index.ingest([data])  # a first complete version of 20 files
    _write(data, 40, "v2")  # 20 changed files and 20 new ones

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store), str(data)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    done = 0
    deadline = time.monotonic() + 240
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith("done"):
            done = int(line.split()[1])
            if done >= 14:
                break
        assert time.monotonic() < deadline, "the ingest child did not make progress"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert done >= 14

    reopened = rag.open_index(store, "crash", embedder=embedder, chunk_tokens=120, overlap_tokens=16)
    ids = reopened._chroma_ids()
    assert len(ids) == len(set(ids))
    assert reopened._bm25.fingerprint == fingerprint(ids), "opening must resync BM25 with Chroma"

    report = reopened.ingest([data])
    assert not report.failed
    assert report.unchanged, "files finished before the kill must be skipped"
    expected = {}
    for path in sorted(data.glob("*.md")):
        (doc,) = rag.load_file(path)
        chunks = rag.chunk_document(doc, chunk_tokens=120, overlap_tokens=16, count_tokens=embedder.count_tokens)
        expected.update({c.id: c.text for c in chunks})
    ids = reopened._chroma_ids()
    assert sorted(ids) == sorted(expected), "exactly the chunks of the current files, no duplicates, no v1 leftovers"
    assert reopened._bm25.fingerprint == fingerprint(ids)
    assert reopened.count() == len(expected)
    hits = reopened.search("Note 3 v1", k=50, mode="bm25")
    assert all("(v1)" not in c.text for c in hits.chunks)
    assert len(reopened.ingest([data]).unchanged) == 40
