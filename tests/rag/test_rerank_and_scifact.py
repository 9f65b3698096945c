"""The cross-encoder reranker and ranking quality on a real SciFact slice (known relevance labels)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcploom import rag

from .conftest import read_scifact


@pytest.fixture(scope="module")
def scifact(tmp_path_factory: pytest.TempPathFactory, embedder):
    docs, queries, qrels = read_scifact(n_queries=20, distractors=50)
    folder = tmp_path_factory.mktemp("scifact")
    corpus = folder / "slice.jsonl"
    corpus.write_text("\n".join(json.dumps(d) for d in docs), encoding="utf-8")
    index = rag.open_index(folder / "index", "scifact", embedder=embedder, chunk_tokens=4096, overlap_tokens=0)
    report = index.ingest([corpus])
    assert len(report.added) == len(docs)
    return index, queries, qrels


def _recall_at(index: rag.Index, queries, qrels, k: int, **kwargs) -> float:
    found = total = 0
    for qid, text in queries.items():
        got = {c.source.rsplit("#", 1)[1] for c in index.search(text, k=k, **kwargs).chunks}
        found += len(got & qrels[qid])
        total += len(qrels[qid])
    return found / total


def test_every_mode_retrieves_labelled_abstracts_and_hybrid_is_not_worse(scifact) -> None:
    index, queries, qrels = scifact
    recall = {mode: _recall_at(index, queries, qrels, 5, mode=mode) for mode in ("bm25", "dense", "hybrid")}
    assert recall["bm25"] >= 0.7 and recall["dense"] >= 0.7, recall
    assert recall["hybrid"] >= min(recall["bm25"], recall["dense"]), recall
    assert recall["hybrid"] >= 0.8, recall


def test_reranker_scores_relevant_passages_higher() -> None:
    reranker = rag.OnnxCrossEncoder()
    scores = reranker.score(
        "How long should spaghetti boil?",
        ["Cook spaghetti in salted boiling water for nine to eleven minutes.", "The Eiffel Tower is in Paris."],
    )
    assert scores[0] > scores[1]
    assert reranker.score("q", []) == []


def test_search_with_rerank_reorders_by_cross_encoder(scifact) -> None:
    index, queries, qrels = scifact
    index.reranker = rag.OnnxCrossEncoder()
    try:
        text = next(iter(queries.values()))
        hits = index.search(text, k=5, rerank=True, rerank_top=10)
        assert len(hits.chunks) == 5
        assert hits.scores == sorted(hits.scores, reverse=True)
        expected = index.reranker.score(text, [hits.chunks[0].text])[0]
        assert hits.scores[0] == pytest.approx(expected, rel=1e-4)
        few = dict(list(queries.items())[:6])
        assert _recall_at(index, few, qrels, 5, rerank=True, rerank_top=8) >= 0.6
    finally:
        index.reranker = None


def test_bad_reranker_folder_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(rag.RerankerError, match="Cannot load the reranker"):
        rag.OnnxCrossEncoder(tmp_path).score("q", ["p"])
