"""The fixed sets of values the library accepts, each a ``Literal`` with its meaning."""

from __future__ import annotations

from typing import Literal

__all__ = ["ChromaMode", "SearchMode"]

SearchMode = Literal["hybrid", "dense", "bm25"]
"""How ``Index.search`` ranks chunks.

- ``"hybrid"``: reciprocal-rank fusion of the dense and the BM25 rankings (the default; best on SciFact).
- ``"dense"``: cosine similarity of sentence-transformer embeddings, served by Chroma.
- ``"bm25"``: lexical BM25 (Lucene variant, English stemming and stop words) with ``bm25s``.
"""

ChromaMode = Literal["persistent", "http"]
"""Where the vectors live: an embedded ``PersistentClient`` directory, or a Chroma server over HTTP."""
