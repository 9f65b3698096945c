"""Hybrid retrieval: load files, chunk them, embed with sentence-transformers, store in Chroma + BM25,
search by fusing the two (normalised score blend or reciprocal rank), optionally rerank with a
cross-encoder, and cite the sources.

Importing ``rag`` and opening an index are cheap; torch and the embedding model load on the first
embed, onnxruntime on the first rerank.

Example:
    >>> import tempfile
    >>> from mcploom import rag
    >>> index = rag.open_index(tempfile.mkdtemp(), collection="notes")
    >>> index.ingest(["docs/"])                                            # doctest: +SKIP
    >>> hits = index.search("how do I rotate keys?", k=5, mode="hybrid")  # doctest: +SKIP
    >>> print(hits.context())                                              # doctest: +SKIP
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcploom.rag.chunking import approx_token_count, chunk_document
    from mcploom.rag.citations import format_context, format_sources
    from mcploom.rag.documents import Chunk, Document
    from mcploom.rag.embeddings import DEFAULT_EMBEDDING_MODEL, Embedder, SentenceTransformerEmbedder
    from mcploom.rag.errors import (
        ConfigurationError,
        EmbeddingModelError,
        IndexLockedError,
        LoadError,
        RerankerError,
        RetrievalError,
        StoreError,
    )
    from mcploom.rag.filters import Where
    from mcploom.rag.fusion import Fusion, convex, rrf
    from mcploom.rag.index import (
        DEFAULT_COLLECTION,
        Index,
        IngestReport,
        Results,
        SourceInfo,
        list_collections,
        open_index,
    )
    from mcploom.rag.loaders import SUPPORTED_SUFFIXES, iter_files, load_file
    from mcploom.rag.rerank import OnnxCrossEncoder, Reranker
    from mcploom.rag.transforms import LLM, QueryTransform, hyde, multi_query
    from mcploom.rag.types import FusionMethod, ScoreNormalization, SearchMode

_EXPORTS = {
    "approx_token_count": "chunking",
    "chunk_document": "chunking",
    "format_context": "citations",
    "format_sources": "citations",
    "Chunk": "documents",
    "Document": "documents",
    "DEFAULT_EMBEDDING_MODEL": "embeddings",
    "Embedder": "embeddings",
    "SentenceTransformerEmbedder": "embeddings",
    "ConfigurationError": "errors",
    "EmbeddingModelError": "errors",
    "IndexLockedError": "errors",
    "LoadError": "errors",
    "RerankerError": "errors",
    "RetrievalError": "errors",
    "StoreError": "errors",
    "Where": "filters",
    "Fusion": "fusion",
    "convex": "fusion",
    "rrf": "fusion",
    "DEFAULT_COLLECTION": "index",
    "Index": "index",
    "IngestReport": "index",
    "Results": "index",
    "SourceInfo": "index",
    "list_collections": "index",
    "open_index": "index",
    "SUPPORTED_SUFFIXES": "loaders",
    "iter_files": "loaders",
    "load_file": "loaders",
    "OnnxCrossEncoder": "rerank",
    "Reranker": "rerank",
    "LLM": "transforms",
    "QueryTransform": "transforms",
    "hyde": "transforms",
    "multi_query": "transforms",
    "FusionMethod": "types",
    "ScoreNormalization": "types",
    "SearchMode": "types",
}
"""Each public name and the module that defines it; imported on first use, so ``import mcploom.rag``
(and the CLI, which reads ``mcploom.rag.types``) costs almost nothing."""


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    try:
        return importlib.import_module(f"{__name__}.{name}")  # a submodule: rag.loaders, rag.index, ...
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


__all__ = [
    "DEFAULT_COLLECTION",
    "DEFAULT_EMBEDDING_MODEL",
    "LLM",
    "SUPPORTED_SUFFIXES",
    "Chunk",
    "ConfigurationError",
    "Document",
    "EmbeddingModelError",
    "Embedder",
    "Fusion",
    "FusionMethod",
    "Index",
    "IndexLockedError",
    "IngestReport",
    "LoadError",
    "OnnxCrossEncoder",
    "QueryTransform",
    "Reranker",
    "RerankerError",
    "Results",
    "RetrievalError",
    "ScoreNormalization",
    "SearchMode",
    "SentenceTransformerEmbedder",
    "SourceInfo",
    "StoreError",
    "Where",
    "approx_token_count",
    "chunk_document",
    "convex",
    "format_context",
    "format_sources",
    "hyde",
    "iter_files",
    "list_collections",
    "load_file",
    "multi_query",
    "open_index",
    "rrf",
]
