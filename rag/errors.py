"""Errors the retrieval library raises, each saying what was wrong, the value, and what to do."""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "EmbeddingModelError",
    "IndexLockedError",
    "LoadError",
    "RerankerError",
    "RetrievalError",
    "StoreError",
]


class RetrievalError(Exception):
    """Base class for every error ``rag`` raises on purpose; the message tells the user what to do."""


class ConfigurationError(RetrievalError, ValueError):
    """An argument has a value the library cannot use (unknown mode, k < 1, bad filter, ...)."""


class LoadError(RetrievalError):
    """A file could not be read as a document (missing, empty, binary, corrupt or unsupported)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"At {source}: {reason}")
        self.source = source
        self.reason = reason


class EmbeddingModelError(RetrievalError):
    """The embedding model could not be found or loaded."""


class RerankerError(RetrievalError):
    """The cross-encoder reranker could not be found or loaded."""


class StoreError(RetrievalError):
    """The vector store (Chroma) or the BM25 index is unreachable or inconsistent with the request."""


class IndexLockedError(StoreError):
    """Another process is writing to the same index directory."""
