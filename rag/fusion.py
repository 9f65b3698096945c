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

from mcploom.rag.errors import ConfigurationError
from mcploom.rag.types import FusionMethod, ScoreNormalization

__all__ = ["Fusion", "convex", "dedup_near_identical", "rrf"]

T = TypeVar("T")


@dataclass(frozen=True)
class Fusion:
    """How hybrid search combines the dense and BM25 rankings.

    The defaults were tuned on the SciFact train split only (``benchmarks/rag_scifact.py``).

    Attributes:
        method: ``"convex"`` (normalised score blend, default) or ``"rrf"`` (reciprocal rank).
        alpha: Convex fusion: share of the dense score (BM25 gets ``1 - alpha``).
        normalization: Convex fusion: how each list's scores are scaled (``"max"`` or ``"minmax"``).
        k: RRF constant; larger values flatten the advantage of the top ranks.
        dense_weight: RRF weight of the dense ranking.
        bm25_weight: RRF weight of the BM25 ranking.
        candidates: How many hits each ranking contributes before fusion.
    """

    method: FusionMethod = "convex"
    alpha: float = 0.6
    normalization: ScoreNormalization = "max"
    k: float = 60.0
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    candidates: int = 100

    def __post_init__(self) -> None:
        if self.method not in ("convex", "rrf") or self.normalization not in ("max", "minmax"):
            raise ConfigurationError(
                f"Unknown fusion method {self.method!r} or normalization {self.normalization!r}; "
                "use method='convex' or 'rrf', normalization='max' or 'minmax'."
            )
        if self.k <= 0 or self.candidates < 1 or self.dense_weight < 0 or self.bm25_weight < 0:
            raise ConfigurationError(
                f"Invalid fusion settings {self!r}: k must be > 0, candidates >= 1 and weights >= 0."
            )
        if not 0.0 <= self.alpha <= 1.0:
            raise ConfigurationError(f"Fusion alpha={self.alpha} must be between 0 (BM25 only) and 1 (dense only).")


def _normalise(scores: Sequence[float], how: ScoreNormalization) -> list[float]:
    if not scores:
        return []
    high, low = max(scores), min(scores)
    if how == "max":
        return [s / high for s in scores] if high > 0 else [0.0] * len(scores)
    span = high - low
    return [(s - low) / span for s in scores] if span > 0 else [1.0] * len(scores)


def convex(
    dense: Sequence[tuple[str, float]],
    sparse: Sequence[tuple[str, float]],
    *,
    alpha: float = 0.6,
    normalization: ScoreNormalization = "max",
) -> list[tuple[str, float]]:
    """Blend two scored lists: ``alpha * norm(dense) + (1 - alpha) * norm(sparse)``, best first.

    An id missing from one list gets that list's lowest normalised score (an upper bound of its
    true score there, since it ranked below the cut).

    Example:
        >>> [i for i, _ in convex([("a", 0.9), ("b", 0.5)], [("b", 12.0), ("c", 3.0)], alpha=0.5)]
        ['b', 'a', 'c']
    """
    dense_norm = dict(zip([i for i, _ in dense], _normalise([s for _, s in dense], normalization), strict=True))
    sparse_norm = dict(zip([i for i, _ in sparse], _normalise([s for _, s in sparse], normalization), strict=True))
    dense_floor = min(dense_norm.values(), default=0.0)
    sparse_floor = min(sparse_norm.values(), default=0.0)
    fused = {
        item: alpha * dense_norm.get(item, dense_floor) + (1.0 - alpha) * sparse_norm.get(item, sparse_floor)
        for item in dict.fromkeys([*dense_norm, *sparse_norm])
    }
    return sorted(fused.items(), key=lambda pair: -pair[1])


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
    return frozenset(zip(*(words[i:] for i in range(size)), strict=False))  # shorter tails end it


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
        size = len(shingles)
        if any(
            min(size, len(other)) >= threshold * max(size, len(other))  # else Jaccard < threshold for sure
            and len(shingles & other) >= threshold * len(shingles | other)
            for other in seen
        ):
            continue
        kept.append(item)
        seen.append(shingles)
        if limit is not None and len(kept) >= limit:
            break
    return kept
