"""The two records the pipeline passes around: a loaded ``Document`` and a citable ``Chunk``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Chunk", "Document", "MetadataValue", "content_hash", "document_id"]

MetadataValue = str | int | float | bool
"""A value Chroma can store and filter on."""


def content_hash(text: str) -> str:
    """SHA-256 of the text (hex); it changes exactly when the text changes."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def document_id(source: str, text_hash: str) -> str:
    """Stable id from the source and its content: same file, same text, same id."""
    return f"{hashlib.sha256(source.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}-{text_hash[:16]}"


@dataclass(frozen=True)
class Document:
    """One loaded source: a file, or one record of a ``.jsonl`` file (``source`` is ``path#id`` then).

    Attributes:
        source: Where the text came from; the key that re-ingest and delete use.
        text: The plain text (markup removed).
        title: A title if the format has one (HTML ``<title>``, BEIR ``title``, first Markdown heading).
        metadata: Extra filterable fields (``str``/``int``/``float``/``bool``).
        page_starts: For PDFs, the char offset where each page starts.
    """

    source: str
    text: str
    title: str = ""
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    page_starts: tuple[int, ...] = ()

    @property
    def content_hash(self) -> str:
        """SHA-256 of the text."""
        return content_hash(self.text)

    @property
    def id(self) -> str:
        """Stable id from the source and the content hash."""
        return document_id(self.source, self.content_hash)

    def page_at(self, offset: int) -> int | None:
        """1-based page number holding char ``offset`` (``None`` when the format has no pages)."""
        if not self.page_starts:
            return None
        page = 0
        for number, start in enumerate(self.page_starts):
            if start <= offset:
                page = number
        return page + 1


@dataclass(frozen=True)
class Chunk:
    """A piece of a document, with everything needed to cite it.

    Attributes:
        id: ``<document id>:<index>``, stable across re-ingests of unchanged text.
        text: The chunk's text, ``document.text[start:end]``.
        source: The document's source (file path, or ``path#id``).
        doc_id: The document's stable id.
        title: The document's title ("" if none).
        heading: The Markdown/HTML heading path at the chunk, joined with " > " ("" if none).
        start: Char offset of the chunk in the document text.
        end: Char offset one past the chunk's end.
        index: Position of the chunk in its document.
        page: 1-based PDF page where the chunk starts, if any.
        metadata: The document's extra metadata.
    """

    id: str
    text: str
    source: str
    doc_id: str
    title: str = ""
    heading: str = ""
    start: int = 0
    end: int = 0
    index: int = 0
    page: int | None = None
    metadata: dict[str, MetadataValue] = field(default_factory=dict)

    def location(self) -> str:
        """Human-readable place for a citation: source, heading or page, and char range."""
        parts = [self.source]
        if self.heading:
            parts.append(self.heading)
        if self.page is not None:
            parts.append(f"p. {self.page}")
        parts.append(f"chars {self.start}-{self.end}")
        return " | ".join(parts)

    def to_metadata(self, n_chunks: int) -> dict[str, MetadataValue]:
        """The flat metadata stored with the chunk in Chroma and the BM25 corpus."""
        meta: dict[str, MetadataValue] = dict(self.metadata)
        meta.update(
            source=self.source,
            doc_id=self.doc_id,
            title=self.title,
            heading=self.heading,
            start=self.start,
            end=self.end,
            chunk_index=self.index,
            n_chunks=n_chunks,
        )
        if self.page is not None:
            meta["page"] = self.page
        return meta

    @classmethod
    def from_stored(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
        """Rebuild a chunk from what the stores keep (inverse of ``to_metadata``)."""
        reserved = {"source", "doc_id", "title", "heading", "start", "end", "chunk_index", "n_chunks", "page"}
        return cls(
            id=chunk_id,
            text=text,
            source=str(meta.get("source", "")),
            doc_id=str(meta.get("doc_id", "")),
            title=str(meta.get("title", "")),
            heading=str(meta.get("heading", "")),
            start=int(meta.get("start", 0)),
            end=int(meta.get("end", 0)),
            index=int(meta.get("chunk_index", 0)),
            page=int(meta["page"]) if meta.get("page") is not None else None,
            metadata={k: v for k, v in meta.items() if k not in reserved},
        )
