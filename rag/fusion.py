"""Rank fusion and near-duplicate removal for hybrid results.

Example:
    >>> rrf([["a", "b", "c"], ["c", "a"]], k=60)[:2]
    [('a', 0.03252247488101534), ('c', 0.032266458495966696)]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from rag.errors import ConfigurationError

__all__ = ["Fusion", "dedup_near_identical", "rrf"]

T = TypeVar("T")


@dataclass(frozen=True)
class Fusion:
    """How hybrid search combines the dense and BM25 rankings (reciprocal-rank fusion).

    Attributes:
        k: RRF constant; larger values flatten the advantage of the top ranks.
        dense_weight: Weight of the dense ranking.
        bm25_weight: Weight of the BM25 ranking.
        candidates: How many hits each ranking contributes before fusion.
    """

    k: float = 60.0
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    candidates: int = 100

    def __post_init__(self) -> None:
        if self.k <= 0 or self.candidates < 1 or self.dense_weight < 0 or self.bm25_weight < 0:
            raise ConfigurationError(
                f"Invalid fusion settings {self!r}: k must be > 0, candidates >= 1 and weights >= 0."
            )


def rrf(
    rankings: Sequence[Sequence[str]], *, k: float = 60.0, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion: ``score(d) = sum_i w_i / (k + rank_i(d))`` with 1-based ranks, best first.

    Ties keep the order in which ids were first seen.
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ConfigurationError(f"Got {len(weights)} weights for {len(rankings)} rankings; give one per ranking.")
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


_WORD = re.compile(r"\w+")


def _shingles(text: str, size: int = 3) -> frozenset[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return frozenset({tuple(words)})
    return frozenset(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def dedup_near_identical(
    items: Sequence[T], text: Callable[[T], str], *, threshold: float = 0.9, limit: int | None = None
) -> list[T]:
    """Drop items whose text is near-identical (word-trigram Jaccard >= ``threshold``) to a kept earlier one.

    Stops once ``limit`` items are kept.

    Example:
        >>> dedup_near_identical(["A cat sat on the mat.", "a cat sat on the mat", "Dogs run."], str)
        ['A cat sat on the mat.', 'Dogs run.']
    """
    kept: list[T] = []
    seen: list[frozenset[tuple[str, ...]]] = []
    for item in items:
        shingles = _shingles(text(item))
        if any(len(shingles & other) / max(1, len(shingles | other)) >= threshold for other in seen):
            continue
        kept.append(item)
        seen.append(shingles)
        if limit is not None and len(kept) >= limit:
            break
    return kept
