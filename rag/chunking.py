"""Recursive, structure-aware chunking with a token budget and overlap; chunks keep exact char offsets.

The splitter tries, in order: Markdown headings, blank-line paragraphs, lines, sentences, words, and
finally fixed windows, descending only into pieces still over the budget; then it packs neighbouring
pieces back together up to ``chunk_tokens`` with about ``overlap_tokens`` of overlap.

Example:
    >>> from mcploom.rag.documents import Document
    >>> doc = Document(source="notes.md", text="# A\\n\\nOne two three. Four.\\n\\n# B\\n\\nFive.")
    >>> [(c.heading, c.text) for c in chunk_document(doc, chunk_tokens=8, overlap_tokens=0)]
    [('A', '# A\\n\\nOne two three. Four.'), ('B', '# B\\n\\nFive.')]
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mcploom.rag.documents import Chunk, Document
from mcploom.rag.errors import ConfigurationError

__all__ = ["TokenCounter", "approx_token_count", "chunk_document", "heading_paths"]

TokenCounter = Callable[[str], int]
"""Counts the tokens of a text (the embedding model's tokenizer, or ``approx_token_count``)."""

_WORDISH = re.compile(r"\w+|[^\w\s]")

# Each level yields cut positions; a piece runs from one cut to the next.
_HEADING = re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE)
_LEVELS: tuple[tuple[re.Pattern[str], bool], ...] = (
    (_HEADING, True),  # cut before a heading line
    (re.compile(r"\n[ \t]*\n\s*"), False),  # cut after a blank line
    (re.compile(r"\n"), False),
    (re.compile(r"(?<=[.!?;:])[\"')\]]*\s+"), False),  # sentences
    (re.compile(r"\s+"), False),  # words
)
_HEADING_LINE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)", re.MULTILINE)


def approx_token_count(text: str) -> int:
    """Cheap stand-in for a WordPiece tokenizer: words and punctuation marks, long words counted twice.

    Example:
        >>> approx_token_count("Hello, world!")
        4
    """
    return sum(1 if len(w) <= 8 else 2 for w in _WORDISH.findall(text))


def heading_paths(text: str) -> list[tuple[int, str]]:
    """``(offset, "H1 > H2 > ...")`` at every Markdown heading line of ``text``."""
    stack: list[tuple[int, str]] = []
    out: list[tuple[int, str]] = []
    fences = [m.start() for m in _FENCE.finditer(text)]
    for match in _HEADING_LINE.finditer(text):
        if sum(fence < match.start() for fence in fences) % 2:
            continue  # a "# comment" inside a fenced code block is not a heading
        level, title = len(match.group(1)), match.group(2).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        out.append((match.start(), " > ".join(t for _, t in stack)))
    return out


def chunk_document(
    doc: Document,
    *,
    chunk_tokens: int = 200,
    overlap_tokens: int = 32,
    count_tokens: TokenCounter = approx_token_count,
) -> list[Chunk]:
    """Split a document into chunks of at most about ``chunk_tokens`` tokens.

    Args:
        doc: The document.
        chunk_tokens: Token budget per chunk (the embedding model truncates beyond its own limit,
            256 word pieces for MiniLM).
        overlap_tokens: Tokens of context repeated from the end of the previous chunk.
        count_tokens: The tokenizer's counter.

    Returns:
        Chunks in document order; each ``chunk.text == doc.text[chunk.start:chunk.end]``.

    Raises:
        ConfigurationError: ``chunk_tokens < 8`` or ``overlap_tokens`` not in ``[0, chunk_tokens / 2]``.
    """
    if chunk_tokens < 8:
        raise ConfigurationError(f"chunk_tokens={chunk_tokens} is too small; use at least 8 (e.g. 200).")
    if not 0 <= overlap_tokens <= chunk_tokens // 2:
        raise ConfigurationError(
            f"overlap_tokens={overlap_tokens} must be between 0 and half of chunk_tokens ({chunk_tokens // 2})."
        )
    text = doc.text
    spans = _sections(text, chunk_tokens, overlap_tokens, count_tokens)
    headings = heading_paths(text)
    chunks: list[Chunk] = []
    doc_id = doc.id
    for start, end in spans:
        heading = ""
        for offset, path in headings:
            if offset > start:
                break
            heading = path
        chunks.append(
            Chunk(
                id=f"{doc_id}:{len(chunks)}",
                text=text[start:end],
                source=doc.source,
                doc_id=doc_id,
                title=doc.title,
                heading=heading,
                start=start,
                end=end,
                index=len(chunks),
                page=doc.page_at(start),
                metadata=dict(doc.metadata),
            )
        )
    return chunks


def _sections(text: str, budget: int, overlap: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Chunk each heading section on its own; neighbouring sections that fit whole share a chunk."""
    bounds = [0, *_cuts(text, 0, len(text), 0), len(text)]
    spans: list[tuple[int, int]] = []
    last_whole = False
    for start, end in zip(bounds, bounds[1:], strict=False):
        pieces = _split(text, start, end, 1, budget, count)
        packed = _pack(text, pieces, budget, overlap, count)
        whole = len(packed) == 1
        if whole and last_whole and spans and count(text[spans[-1][0] : packed[0][1]]) <= budget:
            spans[-1] = (spans[-1][0], packed[0][1])
        else:
            spans.extend(packed)
        last_whole = whole
    return spans


def _cuts(text: str, start: int, end: int, level: int) -> list[int]:
    pattern, before = _LEVELS[level]
    cuts = [m.start() if before else m.end() for m in pattern.finditer(text, start, end)]
    return [c for c in cuts if start < c < end]


def _split(text: str, start: int, end: int, level: int, budget: int, count: TokenCounter) -> list[tuple[int, int]]:
    if count(text[start:end]) <= budget:
        return [(start, end)]
    if level == len(_LEVELS):
        return _windows(text, start, end, budget, count)
    bounds = [start, *_cuts(text, start, end, level), end]
    if len(bounds) == 2:
        return _split(text, start, end, level + 1, budget, count)
    out: list[tuple[int, int]] = []
    for s, e in zip(bounds, bounds[1:], strict=False):
        if e > s:
            out.extend(_split(text, s, e, level + 1, budget, count))
    return out


def _windows(text: str, start: int, end: int, budget: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Last resort for text with no spaces (long tokens, CJK runs): fixed char windows that fit."""
    out: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        size = max(1, min(end - pos, budget * 4))
        while size > 1 and count(text[pos : pos + size]) > budget:
            size = max(1, size * 3 // 4)
        out.append((pos, pos + size))
        pos += size
    return out


def _pack(
    text: str, pieces: list[tuple[int, int]], budget: int, overlap: int, count: TokenCounter
) -> list[tuple[int, int]]:
    sizes = [count(text[s:e]) for s, e in pieces]
    spans: list[tuple[int, int]] = []
    current: list[int] = []
    total = 0
    for i, size in enumerate(sizes):
        if current and total + size > budget:
            spans.append((pieces[current[0]][0], pieces[current[-1]][1]))
            carried: list[int] = []
            carried_tokens = 0
            for j in reversed(current):
                if carried_tokens + sizes[j] > overlap or carried_tokens + sizes[j] + size > budget:
                    break
                carried.insert(0, j)
                carried_tokens += sizes[j]
            current, total = carried, carried_tokens
        current.append(i)
        total += size
    if current:
        spans.append((pieces[current[0]][0], pieces[current[-1]][1]))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s and (not out or out[-1] != (s, e)):
            out.append((s, e))
    return out
