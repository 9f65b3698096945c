"""Chunking: exact offsets, token budget, heading paths, overlap, unicode and very long documents."""

from __future__ import annotations

import time

import pytest

from mcploom.rag import ConfigurationError, Document, approx_token_count, chunk_document
from mcploom.rag.chunking import heading_paths
from mcploom.rag.embeddings import SentenceTransformerEmbedder

MARKDOWN = (
    "# Guide\n\nIntro paragraph about the guide.\n\n## Install\n\n"
    + " ".join(f"Install step {i} needs care." for i in range(60))
    + "\n\n## Usage\n\nRun it. Then stop it.\n\n### Flags\n\nUse --fast for speed.\n"
)


def _check_offsets(doc: Document, chunks) -> None:
    for chunk in chunks:
        assert chunk.text == doc.text[chunk.start : chunk.end]
        assert chunk.text == chunk.text.strip()
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)


def test_chunks_cover_text_with_exact_offsets_and_budget() -> None:
    doc = Document(source="guide.md", text=MARKDOWN)
    chunks = chunk_document(doc, chunk_tokens=40, overlap_tokens=8)
    _check_offsets(doc, chunks)
    assert len(chunks) > 3
    assert all(approx_token_count(c.text) <= 40 for c in chunks)
    # Every word of the document is in some chunk, in order.
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(doc.text) if not ch.isspace())


def test_heading_paths_follow_markdown_structure() -> None:
    doc = Document(source="guide.md", text=MARKDOWN)
    chunks = chunk_document(doc, chunk_tokens=40, overlap_tokens=0)
    by_text = {c.heading for c in chunks}
    assert "Guide" in by_text
    assert "Guide > Install" in by_text
    flags = next(c for c in chunks if "--fast" in c.text)
    assert flags.heading in {"Guide > Usage", "Guide > Usage > Flags"}
    assert chunks[0].heading == "Guide"


def test_sections_are_not_merged_across_a_heading_when_they_fit_alone() -> None:
    doc = Document(source="a.md", text="# A\n\nalpha alpha alpha.\n\n# B\n\nbeta beta beta.")
    chunks = chunk_document(doc, chunk_tokens=8, overlap_tokens=0)
    assert [c.text for c in chunks] == ["# A\n\nalpha alpha alpha.", "# B\n\nbeta beta beta."]
    assert [c.heading for c in chunks] == ["A", "B"]


def test_overlap_repeats_the_tail_of_the_previous_chunk() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    doc = Document(source="s.txt", text=text)
    chunks = chunk_document(doc, chunk_tokens=30, overlap_tokens=10)
    _check_offsets(doc, chunks)
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:], strict=False))
    no_overlap = chunk_document(doc, chunk_tokens=30, overlap_tokens=0)
    assert all(b.start >= a.end for a, b in zip(no_overlap, no_overlap[1:], strict=False))
    assert len(no_overlap) < len(chunks)


def test_unicode_and_text_without_spaces_are_split_within_budget() -> None:
    cjk = "東京タワーは東京都港区にある電波塔です" * 200  # no spaces, no sentence marks
    doc = Document(source="jp.txt", text="Café ☕ — naïve façade 🇨🇭.\n\n" + cjk)
    embedder = SentenceTransformerEmbedder()
    chunks = chunk_document(doc, chunk_tokens=64, overlap_tokens=0, count_tokens=embedder.count_tokens)
    _check_offsets(doc, chunks)
    assert all(embedder.count_tokens(c.text) <= 64 for c in chunks)
    assert chunks[0].text.startswith("Café ☕")


def test_very_long_document_is_chunked_quickly_with_the_real_tokenizer() -> None:
    paragraph = "Retrieval systems combine sparse and dense signals to rank passages well. " * 6
    text = "\n\n".join(f"## Part {i}\n\n{paragraph}" for i in range(1500))  # ~700k chars
    doc = Document(source="long.md", text=text)
    embedder = SentenceTransformerEmbedder()
    started = time.perf_counter()
    chunks = chunk_document(doc, chunk_tokens=200, overlap_tokens=32, count_tokens=embedder.count_tokens)
    elapsed = time.perf_counter() - started
    _check_offsets(doc, chunks)
    assert len(chunks) >= 500  # 1500 sections of ~85 tokens: two whole sections fit in one chunk
    assert max(embedder.count_tokens(c.text) for c in chunks) <= 200
    assert elapsed < 30, f"chunking 700k chars took {elapsed:.1f} s"


def test_chunk_ids_are_stable_and_change_with_content() -> None:
    a = chunk_document(Document(source="x.txt", text="one two three"))
    b = chunk_document(Document(source="x.txt", text="one two three"))
    c = chunk_document(Document(source="x.txt", text="one two four"))
    d = chunk_document(Document(source="y.txt", text="one two three"))
    assert a[0].id == b[0].id
    assert len({a[0].id, c[0].id, d[0].id}) == 3


@pytest.mark.parametrize(("size", "overlap"), [(4, 0), (100, 60), (100, -1)])
def test_bad_chunk_settings_say_what_to_use(size: int, overlap: int) -> None:
    with pytest.raises(ConfigurationError, match="chunk_tokens|overlap_tokens"):
        chunk_document(Document(source="x", text="text"), chunk_tokens=size, overlap_tokens=overlap)


def test_comment_lines_in_fenced_code_are_not_headings() -> None:
    text = "# Setup\n\n```bash\n# install it\npip install mcploom\n```\n\n## Usage\n\nRun it.\n"
    assert [path for _, path in heading_paths(text)] == ["Setup", "Setup > Usage"]
