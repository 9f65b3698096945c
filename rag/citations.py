"""Turn search results into a prompt context with numbered citations.

Example:
    >>> from mcploom.rag.documents import Chunk
    >>> chunk = Chunk(id="d:0", text="Paris is the capital.", source="geo.md", doc_id="d",
    ...               heading="France", end=21)
    >>> print(format_context([chunk]))
    [1] geo.md | France | chars 0-21
    Paris is the capital.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcploom.rag.documents import Chunk

__all__ = ["format_context", "format_sources"]


def format_context(chunks: Sequence[Chunk], *, max_chars: int | None = None) -> str:
    """Number the chunks ``[1]``, ``[2]``, ... with their location, ready to paste into a prompt.

    Args:
        chunks: Chunks in rank order (``Results.chunks``).
        max_chars: Stop adding chunks once the context would exceed this many characters.
    """
    blocks: list[str] = []
    size = 0
    for number, chunk in enumerate(chunks, start=1):
        block = f"[{number}] {chunk.location()}\n{chunk.text.strip()}"
        if max_chars is not None and blocks and size + len(block) + 2 > max_chars:
            break
        blocks.append(block)
        size += len(block) + 2
    return "\n\n".join(blocks)


def format_sources(chunks: Sequence[Chunk]) -> str:
    """A reference list, one ``[n] location`` line per chunk, for the end of an answer."""
    return "\n".join(f"[{n}] {c.location()}" for n, c in enumerate(chunks, start=1))
