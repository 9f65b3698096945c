"""RAG MCP server: hybrid (BM25 + dense) search over your documents, with citations.

Run it with ``python -m mcploom.mcp_servers.rag --data-dir DIR --allow-root DOCS`` (stdio) or with
``--http --port 8000``. ``ingest`` reads only under the ``--allow-root`` folders: every path the model
sends goes through ``mcploom.mcp_servers._sandbox.Sandbox`` (no ``..``, ``~``, encoded separators, or
links leading out), and walked folders never follow links, open special files or read hard-linked
files. Without ``--allow-root`` the server does not offer ``ingest`` at all; searching, listing,
reading and deleting what is already indexed stay.

The server is the single owner of its Chroma folder (Chroma has no file lock; concurrent writer processes
lose vectors), or it talks to a Chroma server given with ``--chroma-host``. The embedding model and Chroma
load on the first tool call that needs them, so ``tools/list`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlparse

import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer, ResourceSecurity
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from pydantic import BaseModel, Field

from mcploom import rag
from mcploom.mcp_servers._annotations import READ_ONLY, WRITES_IDEMPOTENT
from mcploom.mcp_servers._sandbox import PathPolicyError, Sandbox
from mcploom.mcp_servers._serve import ServerCommand, existing_folder, folder
from mcploom.mcp_servers._server import McploomServer
from mcploom.paths import index_home
from mcploom.rag.types import SearchMode

__all__ = ["COMMAND", "create_server", "main"]


class Passage(BaseModel):
    """One search hit with what is needed to cite it."""

    rank: int = Field(description="1-based rank; cite it as [rank].")
    source: str = Field(description="File path (or path#record for JSONL) the text comes from.")
    title: str = Field(description="Document title, if any.")
    heading: str = Field(description="Heading path inside the document, e.g. 'Setup > Install'.")
    page: int | None = Field(description="PDF page where the passage starts, if any.")
    start: int = Field(description="Character offset of the passage in the document.")
    end: int = Field(description="Character offset one past the passage's end.")
    score: float = Field(description="Relevance score (compare within one result list only).")
    relevance: float | None = Field(
        default=None,
        description="Cosine similarity of the passage to the query, comparable across queries (about 0.4 and "
        "up: on the query's topic); null where the dense search did not rank it.",
    )
    text: str = Field(description="The passage text.")


class SearchResult(BaseModel):
    """Passages best matching a query, best first."""

    query: str
    collection: str
    mode: str
    passages: list[Passage]
    context: str = Field(description="The passages as numbered citations, ready to quote in an answer.")


class FailedFile(BaseModel):
    """A file or folder entry that was not ingested, and why (unreadable, a link, not a regular file, ...)."""

    source: str
    reason: str


class IngestResult(BaseModel):
    """What an ingest did; unchanged files are skipped, changed files replaced."""

    collection: str
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    failed: list[FailedFile]
    chunks_written: int
    seconds: float


class CollectionInfo(BaseModel):
    """A collection and whether tools use it when none is named."""

    name: str
    default: bool


class CollectionList(BaseModel):
    """The collections in this server's index."""

    collections: list[CollectionInfo]


class DeleteResult(BaseModel):
    """The chunks removed for one source."""

    collection: str
    source: str
    chunks_removed: int


# Ingest replaces the stored chunks of files that changed (not purely additive), and re-running it is a no-op.


class _Indexes:
    """Opens each collection once, on first use, from any thread."""

    def __init__(self, data_dir: Path, default: str, host: str | None, port: int, rerank: bool) -> None:
        self.data_dir, self.default, self.host, self.port, self.rerank = data_dir, default, host, port, rerank
        self._open: dict[str, rag.Index] = {}
        self._embedder: rag.SentenceTransformerEmbedder | None = None
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        try:
            return rag.list_collections(None if self.host else self.data_dir, host=self.host, port=self.port)
        except rag.RetrievalError as exc:
            raise ToolError(str(exc)) from None

    def get(self, name: str | None, *, create: bool = False) -> rag.Index:
        name = name or self.default
        with self._lock:
            if name in self._open:
                return self._open[name]
            if not create and name not in self.names():
                known = ", ".join(self.names()) or "none yet"
                raise ToolError(f"Unknown collection {name!r}; try one of [{known}], or ingest files into it first.")
            if self._embedder is None:
                self._embedder = rag.SentenceTransformerEmbedder()
            try:
                index = rag.open_index(
                    self.data_dir,
                    name,
                    embedder=self._embedder,
                    host=self.host,
                    port=self.port,
                    reranker=rag.OnnxCrossEncoder() if self.rerank else None,
                )
            except rag.RetrievalError as exc:
                raise ToolError(str(exc)) from None
            self._open[name] = index
            return index


def _path_text(value: str) -> str:
    """The path a ``file://`` URL names (decoded), or ``value`` itself; the sandbox checks either."""
    if value[:7].lower() == "file://":
        parsed = urlparse(value)
        if parsed.netloc not in ("", "localhost"):
            raise ToolError(
                f"{value!r} names the host {parsed.netloc!r}; only local files can be ingested. "
                "Send a path (or a file:/// URL)."
            )
        return unquote(parsed.path)
    if "://" in value:
        raise ToolError(f"{value!r} is a URL; only local files can be ingested (paths or file:// URLs).")
    return value


def _inside(sandbox: Sandbox, value: str, roots: str) -> Path:
    """The real path of ``value`` inside the sandbox's roots, or a ``ToolError`` saying why not."""
    try:
        return sandbox.resolve(_path_text(value))
    except PathPolicyError as exc:
        raise ToolError(f"Refused: {exc}") from None
    except FileNotFoundError as exc:
        raise ToolError(f"{exc} Send an existing file or folder under {roots}.") from None
    except OSError as exc:
        raise ToolError(f"Cannot examine {value!r} ({exc.strerror or exc}). Check the path.") from None


def create_server(
    data_dir: str | Path | None = None,
    *,
    collection: str = rag.DEFAULT_COLLECTION,
    chroma_host: str | None = None,
    chroma_port: int = 8000,
    rerank: bool = False,
    allowed_roots: Sequence[str | Path] = (),
    allow_delete: bool = False,
) -> MCPServer:
    """Build the rag server over the index folder ``data_dir`` (default: ``mcploom.paths.index_home()``).

    Args:
        data_dir: Index folder (Chroma data and BM25 indexes).
        collection: Collection used when a tool names none.
        chroma_host: Chroma server host (vectors then live there); ``None`` for the embedded store.
        chroma_port: Chroma server port.
        rerank: Rerank search hits with the ONNX cross-encoder (off by default: it did not pay on SciFact).
        allowed_roots: Folders ``ingest`` may read (through ``Sandbox``); without any, ``ingest`` is not offered
            and the server only searches, lists and reads what is already indexed.
        allow_delete: Offer ``delete_document``. Off by default: an agent that only needs to search
            should not hold a tool that removes what it searches.

    Raises:
        PathPolicyError: An allowed root is not an existing directory.
    """
    folder = Path(data_dir).expanduser() if data_dir is not None else index_home()
    indexes = _Indexes(folder, collection, chroma_host, chroma_port, rerank)
    sandbox = Sandbox(allowed_roots) if allowed_roots else None
    roots = ", ".join(os.path.realpath(os.path.expanduser(os.fspath(r))) for r in allowed_roots)
    instructions = (
        "Hybrid search over the user's own indexed documents. For any question those documents may answer, "
        "call search first, then answer from the returned passages, citing them as [n]. "
    )
    if sandbox is None:
        instructions += (
            "ingest is not offered: this server was started without --allow-root, so it serves only what is "
            "already indexed. To add files, the user runs `mcploom ingest PATH` or restarts it with --allow-root DIR."
        )
    else:
        instructions += (
            f"ingest indexes files and folders under {roots} (paths relative to the first, or absolute inside "
            "one); symbolic links, special files and hard-linked files in folders are skipped and listed in failed."
        )
    server = McploomServer("mcploom-rag", instructions=instructions)

    def do_search(
        query: str, k: int, name: str | None, filters: dict[str, Any] | None, mode: SearchMode
    ) -> SearchResult:
        if not query.strip():
            raise ToolError("The query is empty; pass the question or keywords to look for.")
        index = indexes.get(name)
        try:
            hits = index.search(query, k=k, mode=mode, where=filters or None, rerank=indexes.rerank)
        except rag.RetrievalError as exc:
            raise ToolError(str(exc)) from None
        passages = [
            Passage(
                rank=n,
                source=c.source,
                title=c.title,
                heading=c.heading,
                page=c.page,
                start=c.start,
                end=c.end,
                score=round(s, 6),
                relevance=None if r is None else round(r, 4),
                text=c.text,
            )
            for n, (c, s, r) in enumerate(zip(hits.chunks, hits.scores, hits.relevance, strict=True), start=1)
        ]
        return SearchResult(query=query, collection=index.name, mode=mode, passages=passages, context=hits.context())

    @server.tool(annotations=READ_ONLY)
    async def search(
        query: Annotated[str, Field(description="Question or keywords to look for.")],
        k: Annotated[int, Field(description="Number of passages to return.", ge=1, le=50)] = 5,
        collection: Annotated[str | None, Field(description="Collection to search (default: the server's).")] = None,
        filters: Annotated[
            dict[str, Any] | None,
            Field(description="Metadata filter in Chroma syntax (a field name to a value, or an operator object)."),
        ] = None,
        mode: Annotated[
            SearchMode, Field(description="hybrid (best), dense (meaning) or bm25 (exact words).")
        ] = "hybrid",
    ) -> SearchResult:
        """Search the indexed documents and return the best passages with source, location and score."""
        return await anyio.to_thread.run_sync(do_search, query, k, collection, filters, mode)

    if sandbox is not None:

        @server.tool(annotations=WRITES_IDEMPOTENT)
        async def ingest(
            paths: Annotated[
                list[str],
                Field(
                    description="Files or folders in the allowed roots: relative to the first root or absolute "
                    "inside one (file:// URLs too)."
                ),
            ],
            ctx: Context,
            collection: Annotated[str | None, Field(description="Collection to add to (created if new).")] = None,
        ) -> IngestResult:
            """Index files and folders in the allowed roots (txt, md, html, pdf, jsonl); unchanged files are skipped."""
            if not paths:
                raise ToolError("No paths given; pass at least one file or folder.")
            real = [_inside(sandbox, p, roots) for p in paths]

            def progress(done: int, total: int, source: str) -> None:
                anyio.from_thread.run(ctx.report_progress, done, total, Path(source).name)

            def run() -> IngestResult:
                index = indexes.get(collection, create=True)
                try:
                    # The paths are real and checked: taken as given (a link swapped in since is skipped).
                    report = index.ingest(real, progress=progress, allow_hard_links=False, resolve_paths=False)
                except rag.RetrievalError as exc:
                    raise ToolError(str(exc)) from None
                return IngestResult(
                    collection=index.name,
                    added=report.added,
                    updated=report.updated,
                    unchanged=report.unchanged,
                    failed=[FailedFile(source=s, reason=r) for s, r in report.failed],
                    chunks_written=report.chunks,
                    seconds=round(report.seconds, 3),
                )

            return await anyio.to_thread.run_sync(run)

    @server.tool(annotations=READ_ONLY)
    def list_collections() -> CollectionList:
        """List the document collections in this index."""
        return CollectionList(
            collections=[CollectionInfo(name=n, default=n == indexes.default) for n in indexes.names()]
        )

    if allow_delete:

        @server.tool(annotations=WRITES_IDEMPOTENT)
        async def delete_document(
            source: Annotated[str, Field(description="The source path exactly as search returns it.")],
            collection: Annotated[str | None, Field(description="Collection to delete from.")] = None,
        ) -> DeleteResult:
            """Remove one document (all its passages) from the index; the file itself is not touched."""

            def run() -> DeleteResult:
                index = indexes.get(collection)
                removed = index.delete(source, resolve_path=False)  # a lookup key: no file is touched
                if not removed:
                    raise ToolError(
                        f"No document with source {source!r} in collection {index.name!r}. "
                        "Use the source string exactly as search returns it."
                    )
                return DeleteResult(collection=index.name, source=source, chunks_removed=removed)

            return await anyio.to_thread.run_sync(run)

    @server.resource("rag://collections", mime_type="application/json")
    def collections_resource() -> str:
        """The collections and, for each, its documents and chunk counts."""
        out = {}
        for name in indexes.names():
            out[name] = [s._asdict() for s in indexes.get(name).sources()]
        return json.dumps(out, ensure_ascii=False, indent=1)

    # The source is a lookup key in the index, never opened as a file, so absolute paths are fine here.
    @server.resource(
        "rag://document/{+source}", mime_type="text/plain", security=ResourceSecurity(exempt_params={"source"})
    )
    def document_resource(source: str) -> str:
        """The stored text of one document of the default collection, e.g. rag://document//docs/a.md."""
        try:
            text = indexes.get(None).document_text(source)
        except ToolError as exc:
            raise ResourceError(str(exc)) from None
        if text is None:
            raise ResourceError(f"No document with source {source!r}; the sources are listed in rag://collections.")
        return text

    @server.prompt()
    def answer_with_citations(
        question: Annotated[str, Field(description="The question to answer from the documents.")],
    ) -> str:
        """Answer a question from the indexed documents, citing passages as [n]."""
        result = do_search(question, 5, None, None, "hybrid")
        return (
            "Answer the question using only the numbered passages below. Cite every claim with its "
            "passage number in square brackets, e.g. [2]. If the passages do not contain the answer, say so.\n\n"
            f"Passages:\n{result.context or '(no passages found)'}\n\nQuestion: {question}"
        )

    return server


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=folder, default=None, help="Index folder (default: $MCPLOOM_HOME/rag).")
    parser.add_argument("--collection", default=rag.DEFAULT_COLLECTION, help="Default collection.")
    parser.add_argument("--chroma-host", default=None, help="Chroma server host (default: embedded store).")
    parser.add_argument("--chroma-port", type=int, default=8000, help="Chroma server port.")
    parser.add_argument("--rerank", action="store_true", help="Rerank hits with the ONNX cross-encoder.")
    parser.add_argument(
        "--allow-root",
        action="append",
        type=existing_folder,
        default=[],
        help=(
            "Folder whose files the ingest tool may index (repeatable); without one, the ingest tool is not "
            "offered and the server only serves what is already indexed."
        ),
    )
    parser.add_argument(
        "--allow-delete", action="store_true", help="Offer the delete_document tool (off: the index is only searched)."
    )


def _from_arguments(args: argparse.Namespace) -> MCPServer:
    return create_server(
        args.data_dir,
        collection=args.collection,
        chroma_host=args.chroma_host,
        chroma_port=args.chroma_port,
        rerank=args.rerank,
        allowed_roots=args.allow_root,
        allow_delete=args.allow_delete,
    )


COMMAND = ServerCommand("rag", __doc__.splitlines()[0], _from_arguments, _add_arguments)
"""``python -m mcploom.mcp_servers.rag [--data-dir DIR] [--allow-root DIR]...`` (``mcploom serve rag``)."""

main = COMMAND.main


if __name__ == "__main__":
    main()
