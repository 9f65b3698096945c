"""The sparse side: a ``bm25s`` index (Lucene BM25, English stemming and stop words) over stored chunks.

bm25s has no incremental add, so the index is rebuilt from the chunk store whenever the set of chunk
ids changes; a rebuild of 10k chunks takes about a second. Saved versions are written to a fresh
folder and switched with an atomic rename of a ``CURRENT`` pointer, so a crash never leaves a torn index.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcploom.rag.errors import StoreError

__all__ = ["BM25Index", "fingerprint"]

log = logging.getLogger(__name__)

_FORMAT = 1


def fingerprint(ids: Iterable[str]) -> str:
    """Order-independent digest of a set of chunk ids; equal digests mean the same chunks."""
    digest = hashlib.sha256()
    for chunk_id in sorted(ids):
        digest.update(chunk_id.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def _stemmer() -> Any:
    try:
        import Stemmer

        return Stemmer.Stemmer("english").stemWords
    except ImportError:  # pragma: no cover - PyStemmer is in the rag extra
        log.warning("PyStemmer is missing: BM25 runs without stemming (pip install PyStemmer)")
        return None


@dataclass
class BM25Index:
    """BM25 over chunks, with their ids, texts and metadata kept beside it for hybrid fusion.

    Attributes:
        ids: Chunk ids in index order.
        texts: Chunk texts.
        metadatas: Chunk metadata (for filters and results).
        k1: BM25 term-frequency saturation.
        b: BM25 length normalisation.
    """

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    metadatas: list[dict[str, Any]] = field(default_factory=list)
    k1: float = 1.5
    b: float = 0.75
    _retriever: Any = None
    _stem: Callable[..., Any] | None = None
    _positions: dict[str, int] | None = None

    def position(self, chunk_id: str) -> int | None:
        """Where a chunk sits in ``ids`` (``None`` if this index does not hold it)."""
        if self._positions is None or len(self._positions) != len(self.ids):
            self._positions = {chunk_id: i for i, chunk_id in enumerate(self.ids)}
        return self._positions.get(chunk_id)

    @property
    def fingerprint(self) -> str:
        """Digest of the chunk ids this index covers."""
        return fingerprint(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def _tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        import bm25s

        if self._stem is None:
            self._stem = _stemmer()
        return bm25s.tokenize(list(texts), stopwords="en", stemmer=self._stem, show_progress=False, return_ids=False)

    def build(self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> BM25Index:
        """Index these chunks, replacing whatever was indexed before; returns ``self``."""
        import bm25s

        self.ids, self.texts, self.metadatas = list(ids), list(texts), [dict(m) for m in metadatas]
        self._retriever = None
        self._positions = None
        if self.ids:
            retriever = bm25s.BM25(method="lucene", k1=self.k1, b=self.b)
            retriever.index(self._tokenize(self.texts), show_progress=False)
            self._retriever = retriever
        return self

    def search(
        self, query: str, k: int, allowed: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` chunks as ``(position, score)`` with score > 0, best first.

        Args:
            query: Free text.
            k: How many to return at most.
            allowed: Keeps only chunks whose metadata it accepts (a metadata filter).
        """
        if self._retriever is None or k < 1:
            return []
        import numpy as np

        tokens = self._tokenize([query])
        if not tokens[0]:
            return []
        mask = None
        if allowed is not None:
            mask = np.fromiter((1.0 if allowed(m) else 0.0 for m in self.metadatas), dtype=np.float32)
            if not mask.any():
                return []
        k = min(k, len(self.ids))
        docs, scores = self._retriever.retrieve(tokens, k=k, show_progress=False, weight_mask=mask, n_threads=1)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def save(self, folder: Path) -> None:
        """Write a new version under ``folder`` and switch ``CURRENT`` to it atomically."""
        folder.mkdir(parents=True, exist_ok=True)
        version = f"v{os.getpid()}-{os.urandom(4).hex()}"
        target = folder / version
        target.mkdir()
        with (target / "chunks.jsonl").open("w", encoding="utf-8") as out:
            for chunk_id, text, meta in zip(self.ids, self.texts, self.metadatas, strict=True):
                out.write(json.dumps({"id": chunk_id, "text": text, "meta": meta}, ensure_ascii=False) + "\n")
        if self._retriever is not None:
            self._retriever.save(str(target / "bm25s"), show_progress=False)
        state = {
            "format": _FORMAT,
            "fingerprint": self.fingerprint,
            "count": len(self.ids),
            "k1": self.k1,
            "b": self.b,
        }
        (target / "state.json").write_text(json.dumps(state), encoding="utf-8")
        _fsync_tree(target)
        pointer = folder / f"CURRENT.{version}.tmp"
        pointer.write_text(version, encoding="utf-8")
        os.replace(pointer, folder / "CURRENT")
        for old in folder.iterdir():
            if old.name not in {version, "CURRENT"}:
                shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)

    @classmethod
    def load(cls, folder: Path) -> BM25Index | None:
        """Load the current version, or ``None`` when there is none or it is unreadable (then rebuild)."""
        try:
            version = (folder / "CURRENT").read_text(encoding="utf-8").strip()
            target = folder / version
            state = json.loads((target / "state.json").read_text(encoding="utf-8"))
            if state.get("format") != _FORMAT:
                return None
            index = cls(k1=state["k1"], b=state["b"])
            with (target / "chunks.jsonl").open(encoding="utf-8") as lines:
                for line in lines:
                    record = json.loads(line)
                    index.ids.append(record["id"])
                    index.texts.append(record["text"])
                    index.metadatas.append(record["meta"])
            if len(index.ids) != state["count"] or index.fingerprint != state["fingerprint"]:
                return None
            if index.ids:
                import bm25s

                index._retriever = bm25s.BM25.load(str(target / "bm25s"), show_progress=False)
            return index
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError) as exc:
            log.warning("BM25 index in %s is unreadable (%s); it will be rebuilt", folder, exc)
            return None


def _fsync_tree(folder: Path) -> None:
    try:
        for file in folder.rglob("*"):
            if file.is_file():
                with file.open("rb") as handle:
                    os.fsync(handle.fileno())
    except OSError as exc:  # pragma: no cover - fsync is best effort
        raise StoreError(f"Cannot flush the BM25 index to disk in {folder}: {exc}. Check free space.") from exc
