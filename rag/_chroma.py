"""Chroma plumbing: clients, collection names, paged reads. Private to ``mcploom.rag.index``."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mcploom.rag.errors import ConfigurationError, StoreError

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")
PAGE = 2000


def check_collection_name(name: str) -> str:
    """Chroma's rule: 3-512 characters of ``[A-Za-z0-9._-]``, starting and ending alphanumeric."""
    if not _NAME.match(name) or ".." in name:
        raise ConfigurationError(
            f"Invalid collection name {name!r}: use 3-512 letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit (e.g. 'docs' or 'team-notes')."
        )
    return name


def make_client(chroma_path: Path | None, host: str | None, port: int) -> Any:
    """A ``PersistentClient`` on ``chroma_path``, or an ``HttpClient`` when ``host`` is given."""
    try:
        import chromadb
        from chromadb.config import Settings
    except ImportError:
        raise StoreError("The vector store needs chromadb: `pip install chromadb` (or mcploom[rag]).") from None
    settings = Settings(anonymized_telemetry=False)
    if host:
        try:
            client = chromadb.HttpClient(host=host, port=port, settings=settings)
            client.heartbeat()
            return client
        except Exception as exc:  # chromadb raises httpx/ValueError/its own types for a dead server
            raise StoreError(
                f"Cannot reach the Chroma server at http://{host}:{port} ({type(exc).__name__}: {exc}). "
                f"Start one with `chroma run --path DIR --host {host} --port {port}`, "
                "or omit the host to use the embedded store."
            ) from None
    assert chroma_path is not None
    chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(chroma_path), settings=settings)


def iter_all(collection: Any, include: list[str], where: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Page through a collection: yields ``collection.get`` answers of up to ``PAGE`` records."""
    offset = 0
    while True:
        page = collection.get(include=include, where=where, limit=PAGE, offset=offset)
        if not page["ids"]:
            return
        yield page
        if len(page["ids"]) < PAGE:
            return
        offset += PAGE
