"""The hybrid index: Chroma holds chunks and vectors (the source of truth), BM25 is derived from it.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> index = open_index(folder / "rag", collection="notes")   # no model is loaded yet
    >>> index.count()
    0
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, get_args

from mcploom.rag._chroma import check_collection_name, iter_all, make_client
from mcploom.rag.bm25 import BM25Index, fingerprint
from mcploom.rag.chunking import chunk_document
from mcploom.rag.citations import format_context
from mcploom.rag.documents import Chunk, Document
from mcploom.rag.embeddings import DEFAULT_EMBEDDING_MODEL, Embedder, SentenceTransformerEmbedder
from mcploom.rag.errors import ConfigurationError, IndexLockedError, LoadError, StoreError
from mcploom.rag.filters import Where, compile_filter, to_chroma_where
from mcploom.rag.fusion import Fusion, convex, dedup_near_identical, rrf
from mcploom.rag.loaders import DEFAULT_EXCLUDE, _load_real, iter_files
from mcploom.rag.rerank import Reranker
from mcploom.rag.transforms import QueryTransform
from mcploom.rag.types import SearchMode

__all__ = [
    "DEFAULT_COLLECTION",
    "Index",
    "IngestReport",
    "ProgressCallback",
    "Results",
    "SourceInfo",
    "list_collections",
    "open_index",
]

log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "default"
_MODES: tuple[str, ...] = get_args(SearchMode)

ProgressCallback = Callable[[int, int, str], None]
"""Called after each file as ``progress(files_done, files_total, source)``."""


class Results(NamedTuple):
    """Search hits, best first: ``chunks[i]`` scored ``scores[i]``.

    Scores are cosine similarity (dense), BM25 (bm25), blended normalised scores (hybrid), RRF
    (several query texts) or cross-encoder logits (reranked); compare them only within one list.
    """

    chunks: list[Chunk]
    scores: list[float]
    relevance: list[float | None] = []
    """Per hit, the cosine similarity of its embedding to the query's (comparable across queries,
    unlike ``scores``), where the dense side ranked it; ``None`` where it did not (or in bm25 mode)."""

    def context(self, max_chars: int | None = None) -> str:
        """The hits as a numbered-citation context for a prompt (see ``mcploom.rag.format_context``)."""
        return format_context(self.chunks, max_chars=max_chars)


@dataclass
class IngestReport:
    """What one ``ingest`` call did, per source.

    Attributes:
        added: Sources indexed for the first time.
        updated: Sources whose text changed; their old chunks were replaced.
        unchanged: Sources skipped because the same text is already indexed.
        removed: Sources deleted because their file is gone (``prune=True``).
        failed: ``(source, message)`` for files that could not be read and for entries of the folders that
            were not read (symbolic links, special files, hard-linked files when refused); the rest were ingested.
        chunks: Chunks written.
        seconds: Wall time.
    """

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0


class SourceInfo(NamedTuple):
    """One indexed source: its title and how many chunks it has."""

    source: str
    title: str
    chunks: int


def list_collections(path: str | Path | None = None, *, host: str | None = None, port: int = 8000) -> list[str]:
    """Names of the collections in an index folder (or on a Chroma server), sorted.

    Raises:
        StoreError: The Chroma server cannot be reached.
    """
    client = make_client(Path(path) / "chroma" if path is not None else None, host, port)
    return sorted(c if isinstance(c, str) else c.name for c in client.list_collections())


def open_index(
    path: str | Path,
    collection: str = DEFAULT_COLLECTION,
    *,
    embedding_model: str = DEFAULT_EMBEDDING_MODEL,
    embedder: Embedder | None = None,
    host: str | None = None,
    port: int = 8000,
    chunk_tokens: int = 200,
    overlap_tokens: int = 32,
    fusion: Fusion | None = None,
    reranker: Reranker | None = None,
) -> Index:
    """Open (creating if needed) a collection of the hybrid index stored under ``path``.

    Nothing heavy is loaded: the embedding model loads on the first ingest or search.

    Args:
        path: Index folder: ``path/chroma`` (embedded Chroma) and ``path/bm25/<collection>``.
        collection: Collection name (3-512 of ``[A-Za-z0-9._-]``).
        embedding_model: sentence-transformers model: the default, a local folder or a hub name.
        embedder: An ``Embedder`` object to use instead of ``embedding_model``.
        host: Chroma server host; vectors then live on the server (BM25 stays under ``path``).
        port: Chroma server port.
        chunk_tokens: Chunk size in the embedding model's tokens.
        overlap_tokens: Overlap between neighbouring chunks.
        fusion: Hybrid fusion settings (method, convex alpha, RRF k and weights, candidates per list).
        reranker: Cross-encoder used when ``search(rerank=True)``, e.g. ``rag.OnnxCrossEncoder()``.

    Raises:
        ConfigurationError: Bad collection name, or the collection was built with another model or chunking.
        StoreError: The Chroma server cannot be reached.
    """
    return Index(
        Path(path),
        collection,
        embedder=embedder or SentenceTransformerEmbedder(embedding_model),
        host=host,
        port=port,
        chunk_tokens=chunk_tokens,
        overlap_tokens=overlap_tokens,
        fusion=fusion or Fusion(),
        reranker=reranker,
    )


class Index:
    """One collection: ingest files, search them (dense, BM25 or hybrid), delete sources.

    Build it with ``open_index``. One process should write to an index folder at a time; writers
    take a file lock on the collection and wait up to ``lock_timeout`` seconds for it.
    """

    lock_timeout: float = 30.0

    def __init__(
        self,
        path: Path,
        collection: str,
        *,
        embedder: Embedder,
        host: str | None,
        port: int,
        chunk_tokens: int,
        overlap_tokens: int,
        fusion: Fusion,
        reranker: Reranker | None,
    ) -> None:
        self.path = path.expanduser()
        self.name = check_collection_name(collection)
        self.embedder = embedder
        self.fusion = fusion
        self.reranker = reranker
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens
        chunk_document(Document(source="check", text="x"), chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens)
        self._client = make_client(self.path / "chroma", host, port)
        wanted = {"embedding_model": embedder.name, "chunking": f"{chunk_tokens}/{overlap_tokens}"}
        self._collection = self._client.get_or_create_collection(
            self.name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine", "ef_search": max(100, fusion.candidates * 2)}},
            metadata=wanted,
        )
        found = self._collection.metadata or {}
        for key, value in wanted.items():
            if found.get(key, value) != value:
                raise ConfigurationError(
                    f"Collection {self.name!r} in {self.path} was built with "
                    f"{key}={found[key]!r}, not {value!r}. "
                    "Open it with the same setting, or use another collection name."
                )
        self._bm25_dir = self.path / "bm25" / self.name
        self._bm25_lock = threading.Lock()
        self._bm25 = self._load_or_rebuild_bm25()

    # ---- stores ---------------------------------------------------------------------------------

    def count(self) -> int:
        """Number of chunks in the collection."""
        return int(self._collection.count())

    def _chroma_ids(self) -> list[str]:
        return [i for page in iter_all(self._collection, include=[]) for i in page["ids"]]

    def _load_or_rebuild_bm25(self) -> BM25Index:
        loaded = BM25Index.load(self._bm25_dir)
        if loaded is not None and loaded.fingerprint == fingerprint(self._chroma_ids()):
            return loaded
        if loaded is not None:
            log.warning("BM25 index of %r disagrees with Chroma (interrupted ingest?); rebuilding", self.name)
        return self._rebuild_bm25()

    def _rebuild_bm25(self) -> BM25Index:
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        for page in iter_all(self._collection, include=["documents", "metadatas"]):
            ids.extend(page["ids"])
            texts.extend(page["documents"])
            metas.extend(dict(m or {}) for m in page["metadatas"])
        index = BM25Index().build(ids, texts, metas)
        index.save(self._bm25_dir)
        with self._bm25_lock:
            self._bm25 = index
        return index

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        lock_file = self.path / f".{self.name}.lock"
        self.path.mkdir(parents=True, exist_ok=True)
        with lock_file.open("a") as handle:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise IndexLockedError(
                            f"Collection {self.name!r} in {self.path} is being written by another process "
                            f"(lock {lock_file}). Wait for it to finish, or use another --data-dir."
                        ) from None
                    time.sleep(0.2)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # ---- ingest ---------------------------------------------------------------------------------

    def _source_state(self) -> dict[str, dict[str, list[int]]]:
        """``source -> doc_id -> [chunks present, chunks expected]`` from Chroma."""
        state: dict[str, dict[str, list[int]]] = {}
        for page in iter_all(self._collection, include=["metadatas"]):
            for meta in page["metadatas"]:
                meta = meta or {}
                entry = state.setdefault(str(meta.get("source")), {}).setdefault(
                    str(meta.get("doc_id")), [0, int(meta.get("n_chunks", 0))]
                )
                entry[0] += 1
        return state

    def add(self, documents: Iterable[Document]) -> IngestReport:
        """Index documents built in code (same idempotent rules as ``ingest``)."""
        started = time.perf_counter()
        report = IngestReport()
        with self._write_lock():
            writer = _Writer(self, self._source_state(), report)
            for doc in documents:
                writer.add(doc)
            writer.flush()
            self._rebuild_bm25()
        report.seconds = time.perf_counter() - started
        return report

    def ingest(
        self,
        paths: Iterable[str | Path],
        *,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] = DEFAULT_EXCLUDE,
        prune: bool = False,
        progress: ProgressCallback | None = None,
        allow_hard_links: bool = True,
        resolve_paths: bool = True,
    ) -> IngestReport:
        """Index files and folders (recursively); idempotent and safe to re-run after a crash.

        Unchanged files are skipped, changed files replace their chunks, unreadable files are reported
        in ``IngestReport.failed`` while the rest are ingested. Inside folders, symbolic links are never
        followed and only regular files are opened; the entries skipped are reported there too. With
        ``prune=True``, indexed sources under the given folders whose files no longer exist are deleted.

        Args:
            paths: Files and folders.
            include: Glob patterns for files found in folders (default: supported suffixes).
            exclude: Glob patterns of names or relative paths to skip in folders.
            prune: Delete sources whose file has disappeared from the given folders.
            progress: ``progress(files_done, files_total, source)`` after each file.
            allow_hard_links: Read files with more than one hard link; ``False`` reports them in ``failed``
                instead (a hard link can put a file from elsewhere into a folder).
            resolve_paths: Resolve the paths given, following links in them. ``False`` takes them as given
                and skips one that is, or passes through, a symbolic link: for callers that resolved and
                checked them already, e.g. against allowed roots.

        Raises:
            LoadError: A given path does not exist.
            IndexLockedError: Another process is writing this collection.
        """
        started = time.perf_counter()
        paths = [Path(p).expanduser() for p in paths]
        report = IngestReport()

        def skipped(source: str, reason: str) -> None:
            log.warning("At %s: %s", source, reason)
            report.failed.append((source, reason))

        files = list(iter_files(paths, include=include, exclude=exclude, resolve_paths=resolve_paths, on_skip=skipped))
        with self._write_lock():
            state = self._source_state()
            writer = _Writer(self, state, report)
            for done, file in enumerate(files, start=1):
                try:
                    docs = _load_real(file, allow_hard_links=allow_hard_links)  # not re-resolved: no link is followed
                except LoadError as exc:
                    log.warning("%s", exc)
                    report.failed.append((exc.source, exc.reason))
                else:
                    for doc in docs:
                        writer.add(doc)
                if progress is not None:
                    progress(done, len(files), str(file))
            writer.flush()
            if prune:
                roots = [str(p.resolve()) + os.sep for p in paths if p.is_dir()]
                for source in state:
                    file_part = source.split("#", 1)[0]
                    if any(file_part.startswith(r) for r in roots) and not Path(file_part).exists():
                        self._collection.delete(where={"source": source})
                        report.removed.append(source)
            self._rebuild_bm25()
        report.seconds = time.perf_counter() - started
        return report

    def delete(self, source: str, *, resolve_path: bool = True) -> int:
        """Remove every chunk of ``source`` (a path as ingested, or ``path#id``); returns how many.

        Args:
            source: The source as stored; with ``resolve_path``, also a file path relative to the current
                directory or through symbolic links, which is resolved to the stored form.
            resolve_path: ``False`` matches the stored source string only and touches no file.
        """
        keys = [source, _resolve_source(source)] if resolve_path else [source]
        with self._write_lock():
            removed = 0
            for key in dict.fromkeys(keys):
                ids = [i for page in iter_all(self._collection, include=[], where={"source": key}) for i in page["ids"]]
                if ids:
                    self._collection.delete(ids=ids)
                    removed += len(ids)
            if removed:
                self._rebuild_bm25()
        return removed

    # ---- read -----------------------------------------------------------------------------------

    def sources(self) -> list[SourceInfo]:
        """Every indexed source with its title and chunk count, sorted by source."""
        with self._bm25_lock:
            bm25 = self._bm25
        counts: dict[str, list[Any]] = {}
        for meta in bm25.metadatas:
            entry = counts.setdefault(str(meta.get("source")), [str(meta.get("title", "")), 0])
            entry[1] += 1
        return [SourceInfo(s, t, n) for s, (t, n) in sorted(counts.items())]

    def document_text(self, source: str) -> str | None:
        """The stored text of a source, stitched from its chunks by offsets (``None`` if not indexed)."""
        keys = dict.fromkeys([source, _resolve_source(source)])
        with self._bm25_lock:
            bm25 = self._bm25
        parts = sorted(
            (int(m.get("start", 0)), int(m.get("end", 0)), t)
            for t, m in zip(bm25.texts, bm25.metadatas, strict=True)
            if m.get("source") in keys
        )
        if not parts:
            return None
        text, end = "", 0
        for start, stop, chunk in parts:
            if stop <= end:
                continue
            if start >= end:
                text += ("\n\n" if text else "") + chunk
            else:
                text += chunk[end - start :]
            end = stop
        return text

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: SearchMode = "hybrid",
        rerank: bool = False,
        where: Where | None = None,
        transform: QueryTransform | None = None,
        dedup: bool = True,
        rerank_top: int = 30,
    ) -> Results:
        """Find the chunks that best answer ``query``.

        Args:
            query: Free text.
            k: Number of hits.
            mode: ``"hybrid"`` (dense and BM25 fused per ``Index.fusion``), ``"dense"`` or ``"bm25"``.
            rerank: Re-score the top ``rerank_top`` candidates with the index's cross-encoder.
            where: Metadata filter in Chroma syntax, e.g. ``{"source": "/docs/a.md"}``.
            transform: Query transform (``mcploom.rag.multi_query(llm)``, ``mcploom.rag.hyde(llm)``); rankings are fused.
            dedup: Drop near-identical chunks (word-trigram Jaccard >= 0.9) from the hits.
            rerank_top: Candidates the reranker sees; with ``rerank=True`` at most this many hits return.

        Raises:
            ConfigurationError: Unknown mode, ``k < 1``, bad filter, or ``rerank`` without a reranker.

        Example:
            >>> index.search("capital of France", k=3, mode="bm25").chunks   # doctest: +SKIP
        """
        if mode not in _MODES:
            raise ConfigurationError(f"Unknown search mode {mode!r}; use one of {', '.join(_MODES)}.")
        if k < 1:
            raise ConfigurationError(f"k={k} must be at least 1.")
        if rerank and self.reranker is None:
            raise ConfigurationError(
                "rerank=True but this index has no reranker. Open it with reranker=rag.OnnxCrossEncoder()."
            )
        allowed = compile_filter(where)
        chroma_where = to_chroma_where(where)
        queries = transform(query) if transform is not None else [query]
        with self._bm25_lock:
            bm25 = self._bm25
        pool: dict[str, Chunk] = {}
        n = self.fusion.candidates if (mode == "hybrid" or rerank or len(queries) > 1 or dedup) else k
        n = max(n, k)
        per_query: list[list[tuple[str, float]]] = []
        similarity: dict[str, float] = {}
        for text in queries:
            dense: list[tuple[str, float]] = []
            sparse: list[tuple[str, float]] = []
            if mode in ("hybrid", "dense"):
                dense = self._dense(text, n, chroma_where, pool, bm25)
                for chunk_id, cosine in dense:
                    similarity[chunk_id] = max(cosine, similarity.get(chunk_id, -1.0))
            if mode in ("hybrid", "bm25"):
                for position, score in bm25.search(text, n, allowed if where else None):
                    chunk_id = bm25.ids[position]
                    if chunk_id not in pool:
                        pool[chunk_id] = Chunk.from_stored(chunk_id, bm25.texts[position], bm25.metadatas[position])
                    sparse.append((chunk_id, score))
            per_query.append(self._fuse(dense, sparse) if mode == "hybrid" else dense or sparse)
        if len(per_query) == 1:
            fused = per_query[0]
        else:  # several query texts: their (already fused) lists are merged by rank
            fused = rrf([[i for i, _ in ranked] for ranked in per_query], k=self.fusion.k)
        hits = [(pool[i], s) for i, s in fused]
        if dedup:
            hits = dedup_near_identical(hits, lambda hit: hit[0].text, limit=rerank_top if rerank else k)
        if rerank and hits:
            assert self.reranker is not None
            top = hits[:rerank_top]
            scores = self.reranker.score(query, [c.text for c, _ in top])
            hits = sorted(((c, s) for (c, _), s in zip(top, scores, strict=True)), key=lambda h: -h[1])
        hits = hits[:k]
        return Results([c for c, _ in hits], [float(s) for _, s in hits], [similarity.get(c.id) for c, _ in hits])

    def _fuse(self, dense: list[tuple[str, float]], sparse: list[tuple[str, float]]) -> list[tuple[str, float]]:
        fusion = self.fusion
        if fusion.method == "convex":
            return convex(dense, sparse, alpha=fusion.alpha, normalization=fusion.normalization)
        rankings = [[i for i, _ in dense], [i for i, _ in sparse]]
        return rrf(rankings, k=fusion.k, weights=[fusion.dense_weight, fusion.bm25_weight])

    def _dense(
        self, text: str, n: int, where: Where | None, pool: dict[str, Chunk], bm25: BM25Index
    ) -> list[tuple[str, float]]:
        total = len(bm25) or self.count()  # the BM25 side mirrors Chroma; saves a round trip per query
        if total == 0:
            return []
        vector = self.embedder.embed_query(text)
        try:
            # Only ids and distances: texts and metadata come from the in-memory BM25 corpus.
            answer = self._collection.query(
                query_embeddings=[vector.tolist()], n_results=min(n, total), where=where, include=["distances"]
            )
        except Exception as exc:  # chromadb raises several types for a server or filter failure
            raise StoreError(f"Dense search in collection {self.name!r} failed: {exc}") from exc
        ids = answer["ids"][0]
        missing = []
        for chunk_id in ids:
            if chunk_id in pool:
                continue
            position = bm25.position(chunk_id)
            if position is None:
                missing.append(chunk_id)
            else:
                pool[chunk_id] = Chunk.from_stored(chunk_id, bm25.texts[position], bm25.metadatas[position])
        if missing:  # written by another client of a shared Chroma server since our BM25 build
            stored = self._collection.get(ids=missing, include=["documents", "metadatas"])
            for chunk_id, doc, meta in zip(stored["ids"], stored["documents"], stored["metadatas"], strict=True):
                pool[chunk_id] = Chunk.from_stored(chunk_id, doc, dict(meta or {}))
        return [(i, 1.0 - float(d)) for i, d in zip(ids, answer["distances"][0], strict=True) if i in pool]


def _resolve_source(source: str) -> str:
    file_part, sep, record = source.partition("#")
    return str(Path(file_part).expanduser().resolve()) + sep + record


class _Writer:
    """Buffers chunks and writes them in large batches: embed, upsert, then drop stale chunks."""

    batch_chunks = 512

    def __init__(self, index: Index, state: dict[str, dict[str, list[int]]], report: IngestReport) -> None:
        self.index = index
        self.state = state
        self.report = report
        self.chunks: list[Chunk] = []
        self.n_chunks: dict[str, int] = {}
        self.stale: list[tuple[str, str]] = []

    def add(self, doc: Document) -> None:
        known = self.state.get(doc.source, {})
        entry = known.get(doc.id)
        if entry is not None and entry[0] == entry[1]:
            if len(known) == 1:
                self.report.unchanged.append(doc.source)
            else:  # an interrupted replacement: the new chunks are all there, only old ones remain
                self.report.updated.append(doc.source)
                self.stale.append((doc.source, doc.id))
                self.state[doc.source] = {doc.id: entry}
            return
        (self.report.updated if known else self.report.added).append(doc.source)
        chunks = chunk_document(
            doc,
            chunk_tokens=self.index.chunk_tokens,
            overlap_tokens=self.index.overlap_tokens,
            count_tokens=self.index.embedder.count_tokens,
        )
        self.chunks.extend(chunks)
        self.n_chunks[doc.id] = len(chunks)
        if any(other != doc.id for other in known):
            self.stale.append((doc.source, doc.id))
        self.state[doc.source] = {doc.id: [len(chunks), len(chunks)]}
        if len(self.chunks) >= self.batch_chunks:
            self.flush()

    def flush(self) -> None:
        if self.chunks:
            collection = self.index._collection
            vectors = self.index.embedder.embed_documents([c.text for c in self.chunks])
            step = max(1, min(5000, int(self.index._client.get_max_batch_size())))
            for start in range(0, len(self.chunks), step):
                part = self.chunks[start : start + step]
                collection.upsert(
                    ids=[c.id for c in part],
                    embeddings=vectors[start : start + step],
                    documents=[c.text for c in part],
                    metadatas=[c.to_metadata(self.n_chunks[c.doc_id]) for c in part],
                )
            self.report.chunks += len(self.chunks)
            self.chunks = []
        # Old versions go only after the new chunks are stored: a crash in between leaves both,
        # and the next run (seeing two doc ids for the source) finishes the replacement.
        for source, keep in self.stale:
            self.index._collection.delete(where={"$and": [{"source": source}, {"doc_id": {"$ne": keep}}]})
        self.stale = []
