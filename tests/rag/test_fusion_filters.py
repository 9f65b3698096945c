"""Reciprocal-rank fusion, near-duplicate removal, metadata filters and query transforms."""

from __future__ import annotations

import pytest

from mcploom.rag import ConfigurationError, Fusion, hyde, multi_query, rrf
from mcploom.rag.filters import compile_filter, to_chroma_where
from mcploom.rag.fusion import dedup_near_identical


def test_rrf_rewards_agreement_and_respects_weights() -> None:
    fused = dict(rrf([["a", "b", "c"], ["c", "b", "x"]], k=60))
    assert fused["b"] > fused["a"] and fused["b"] > fused["x"]
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 62)
    weighted = [i for i, _ in rrf([["a", "b"], ["b", "a"]], k=1, weights=[3.0, 1.0])]
    assert weighted == ["a", "b"]
    with pytest.raises(ConfigurationError, match="one per ranking"):
        rrf([["a"]], weights=[1.0, 2.0])


def test_fusion_settings_are_validated() -> None:
    with pytest.raises(ConfigurationError, match="candidates"):
        Fusion(candidates=0)


def test_dedup_keeps_first_of_near_identical_texts() -> None:
    texts = ["The quick brown fox jumps over the lazy dog today.", "the quick brown fox jumps over the lazy dog today",
             "A completely different sentence about cats."]  # fmt: skip
    assert dedup_near_identical(texts, str) == [texts[0], texts[2]]


def test_filters_match_chroma_semantics() -> None:
    allowed = compile_filter({"$or": [{"year": {"$gte": 2020}}, {"source": {"$in": ["a", "b"]}}]})
    assert allowed({"year": 2021, "source": "z"})
    assert allowed({"year": 1999, "source": "a"})
    assert not allowed({"year": 1999, "source": "z"})
    assert not allowed({"source": "z"})
    assert compile_filter({"lang": {"$ne": "de"}})({})
    assert to_chroma_where({"a": 1, "b": 2}) == {"$and": [{"a": 1}, {"b": 2}]}
    assert to_chroma_where(None) is None


@pytest.mark.parametrize("bad", [{"$xor": []}, {"a": {"$like": "x"}}, {"a": {"$in": "x"}}, {"$and": []}])
def test_bad_filters_explain_the_syntax(bad: dict) -> None:
    with pytest.raises(ConfigurationError, match="Invalid metadata filter"):
        compile_filter(bad)


def test_multi_query_and_hyde_use_any_callable() -> None:
    prompts: list[str] = []

    def llm(prompt: str) -> str:
        prompts.append(prompt)
        return "- boiling time for pasta\n- HOW LONG TO COOK SPAGHETTI?\n\n2) pasta al dente minutes\nextra"

    variants = multi_query(llm, n=2)("How long to cook spaghetti?")
    assert variants == ["How long to cook spaghetti?", "boiling time for pasta", "pasta al dente minutes"]
    assert "How long to cook spaghetti?" in prompts[0]
    assert hyde(lambda p: "  Cook it nine minutes. ")("q") == ["q", "Cook it nine minutes."]
    assert hyde(lambda p: "")("q") == ["q"]
    with pytest.raises(ConfigurationError):
        multi_query(llm, n=0)


def test_convex_fusion_blends_normalised_scores() -> None:
    from mcploom.rag import convex

    dense = [("a", 0.9), ("b", 0.6), ("c", 0.3)]
    sparse = [("c", 20.0), ("d", 10.0)]
    fused = dict(convex(dense, sparse, alpha=0.6, normalization="max"))
    assert fused["a"] == pytest.approx(0.6 * 1.0 + 0.4 * 0.5)  # missing from BM25: its floor (10/20)
    assert fused["c"] == pytest.approx(0.6 * (0.3 / 0.9) + 0.4 * 1.0)
    assert fused["d"] == pytest.approx(0.6 * (0.3 / 0.9) + 0.4 * 0.5)
    assert [i for i, _ in convex(dense, sparse, alpha=1.0)][:3] == ["a", "b", "c"]
    assert [i for i, _ in convex(dense, sparse, alpha=0.0)][0] == "c"
    minmax = dict(convex(dense, sparse, alpha=0.5, normalization="minmax"))
    assert minmax["a"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.0)
    assert convex([], [], alpha=0.5) == []
    with pytest.raises(ConfigurationError, match="alpha"):
        Fusion(alpha=1.5)
    with pytest.raises(ConfigurationError, match="method"):
        Fusion(method="borda")  # type: ignore[arg-type]
