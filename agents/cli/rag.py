"""The ``ingest`` and ``search`` commands of the mcploom CLI, over the ``mcploom.rag`` library.

``register(app)`` adds them to the main Typer app; ``rag`` (and with it chromadb and torch) is imported
only when one of them runs, so ``mcploom --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, get_args

import typer

from mcploom.agents.cli.console import err, fail, out, user_errors
from mcploom.paths import index_home
from mcploom.rag.types import SearchMode

if TYPE_CHECKING:
    from mcploom import rag

__all__ = ["register"]

CollectionOpt = Annotated[str, typer.Option("--collection", help="Collection to use.", envvar="MCPLOOM_COLLECTION")]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Index folder (default: $MCPLOOM_HOME/rag or ~/.local/share/mcploom/rag)."),
]
HostOpt = Annotated[
    str | None,
    typer.Option(
        "--chroma-host", help="Chroma server host; vectors then live on the server.", envvar="MCPLOOM_CHROMA_HOST"
    ),
]
PortOpt = Annotated[int, typer.Option("--chroma-port", help="Chroma server port.", envvar="MCPLOOM_CHROMA_PORT")]


def _open(data_dir: Path | None, collection: str, host: str | None, port: int, **kwargs: object) -> rag.Index:
    from mcploom import rag

    return rag.open_index(data_dir or index_home(), collection, host=host, port=port, **kwargs)  # type: ignore[arg-type]


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to index (folders recursively).")],
    collection: CollectionOpt = "default",
    data_dir: DataDirOpt = None,
    include: Annotated[
        list[str] | None,
        typer.Option("--include", help="Glob for files in folders (repeatable); default: supported types."),
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Glob of names or paths to skip in folders (repeatable).")
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove indexed files that were deleted from these folders.")
    ] = False,
    chroma_host: HostOpt = None,
    chroma_port: PortOpt = 8000,
) -> None:
    """Index files into a collection; unchanged files are skipped, changed ones replaced."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mcploom import rag

    with user_errors():
        index = _open(data_dir, collection, chroma_host, chroma_port)
        with Progress(
            TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.description}"), console=err, transient=True, disable=not err.is_terminal,
        ) as bar:  # fmt: skip
            task = bar.add_task("", total=None)

            def progress(done: int, total: int, source: str) -> None:
                bar.update(task, completed=done, total=total, description=Path(source).name)

            report = index.ingest(
                paths,
                include=include or None,
                exclude=tuple(exclude) if exclude else rag.loaders.DEFAULT_EXCLUDE,
                prune=prune,
                progress=progress,
            )
    for source, reason in report.failed:
        err.print(f"skipped {source}: {reason}", style="yellow", markup=False, highlight=False)
    out.print(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed, {len(report.failed)} failed; {report.chunks} chunks written to "
        f"collection '{collection}' in {report.seconds:.1f} s.",
        highlight=False,
    )
    if report.failed and not (report.added or report.updated or report.unchanged):
        raise typer.Exit(1)


def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    mode: Annotated[str, typer.Option("--mode", help=f"Ranking: {', '.join(get_args(SearchMode))}.")] = "hybrid",
    rerank: Annotated[
        bool,
        typer.Option(
            "--rerank",
            help="Re-score the top hits with the ONNX cross-encoder (off by default: it lowered nDCG@10 on SciFact).",
        ),
    ] = False,
    k: Annotated[int, typer.Option("-k", "--k", help="Number of hits.", min=1)] = 5,
    collection: CollectionOpt = "default",
    data_dir: DataDirOpt = None,
    chroma_host: HostOpt = None,
    chroma_port: PortOpt = 8000,
) -> None:
    """Search a collection and print the hits with their sources."""
    from rich.table import Table
    from rich.text import Text

    from mcploom import rag

    if mode not in get_args(SearchMode):
        fail(f"At --mode: {mode!r} is not a search mode. Use one of: {', '.join(get_args(SearchMode))}.")
    folder = data_dir or index_home()
    with user_errors():
        known = rag.list_collections(None if chroma_host else folder, host=chroma_host, port=chroma_port)
        if collection not in known:
            fail(
                f"No collection '{collection}' in {chroma_host or folder} (found: {', '.join(known) or 'none'}). "
                f"Index files first: mcploom ingest PATH --collection {collection}"
            )
        index = _open(folder, collection, chroma_host, chroma_port, reranker=rag.OnnxCrossEncoder() if rerank else None)
        hits = index.search(query, k=k, mode=mode, rerank=rerank)  # type: ignore[arg-type]
    if not hits.chunks:
        err.print(f"No results for {query!r} in collection '{collection}'.", markup=False, highlight=False)
        return
    table = Table(title=Text(f"{mode}{' + rerank' if rerank else ''}: {query}"), show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("source")
    table.add_column("text")
    for rank, (chunk, score) in enumerate(zip(hits.chunks, hits.scores, strict=True), start=1):
        where = chunk.source + (f"\n{chunk.heading}" if chunk.heading else "") + f"\nchars {chunk.start}-{chunk.end}"
        snippet = " ".join(chunk.text.split())
        # Text, not str: indexed text is data, and "[...]" in it is not a Rich style.
        table.add_row(str(rank), f"{score:.3f}", Text(where), Text(snippet[:300] + ("…" if len(snippet) > 300 else "")))
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``ingest`` and ``search`` to the mcploom Typer app."""
    app.command("ingest")(ingest)
    app.command("search")(search)
