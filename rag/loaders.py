"""Read files into ``Document``s: text, Markdown, HTML (text only), PDF and BEIR-style JSONL.

Example:
    >>> from mcploom.rag.loaders import SUPPORTED_SUFFIXES
    >>> sorted(SUPPORTED_SUFFIXES)[:3]
    ['.htm', '.html', '.jsonl']
"""

from __future__ import annotations

import fnmatch
import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from html.parser import HTMLParser
from pathlib import Path

from mcploom.rag.documents import Document
from mcploom.rag.errors import LoadError

__all__ = ["SUPPORTED_SUFFIXES", "DEFAULT_EXCLUDE", "iter_files", "load_file", "parse_html"]

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl"})
DEFAULT_EXCLUDE: tuple[str, ...] = (".*", "__pycache__", "node_modules")
"""Names skipped when walking directories (hidden files and folders, caches)."""

_SNIFF_BYTES = 8192


def iter_files(
    paths: Iterable[str | Path],
    *,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
) -> Iterator[Path]:
    """Yield the files to ingest: files as given, directories walked recursively in sorted order.

    Args:
        paths: Files and directories.
        include: Glob patterns a walked file's name or relative path must match
            (default: any supported suffix). Files named directly are always yielded.
        exclude: Glob patterns; a walked file or folder whose name or relative path matches is skipped.

    Raises:
        LoadError: A path does not exist.
    """
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise LoadError(str(raw), "no such file or directory. Check the path.")
        if path.is_file():
            yield path.resolve()
            continue
        for file in sorted(_walk(path, path, include, exclude)):
            yield file.resolve()


def _matches(patterns: Sequence[str], path: Path, root: Path) -> bool:
    rel = path.relative_to(root).as_posix()
    return any(fnmatch.fnmatch(path.name, p) or fnmatch.fnmatch(rel, p) for p in patterns)


def _walk(folder: Path, root: Path, include: Sequence[str] | None, exclude: Sequence[str]) -> Iterator[Path]:
    for entry in folder.iterdir():
        if _matches(exclude, entry, root):
            continue
        if entry.is_dir():
            yield from _walk(entry, root, include, exclude)
        elif entry.is_file():
            if include is None:
                if entry.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield entry
            elif _matches(include, entry, root):
                yield entry


def load_file(path: str | Path) -> list[Document]:
    """Load one file into documents (one, or one per record for ``.jsonl``).

    Raises:
        LoadError: The file is missing, empty, binary, not UTF-8, corrupt, or of an unsupported type;
            the message names the file and says what to do.
    """
    path = Path(path).expanduser().resolve()
    source = str(path)
    if not path.is_file():
        raise LoadError(source, "no such file. Check the path.")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return [_load_pdf(path)]
    raw = path.read_bytes()
    if b"\x00" in raw[:_SNIFF_BYTES]:
        raise LoadError(
            source,
            "binary content (NUL bytes). Only text, Markdown, HTML, PDF and JSONL files can be ingested; "
            "exclude this file with an exclude glob.",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(
            source, f"not valid UTF-8 (byte {exc.start}). Convert it to UTF-8, e.g. `iconv -t UTF-8`."
        ) from None
    if suffix == ".jsonl":
        return _load_jsonl(source, text)
    if suffix in {".html", ".htm"}:
        title, body = parse_html(text)
    else:
        title, body = _markdown_title(text), text
    body = _normalise(body)
    if not body.strip():
        raise LoadError(source, "empty: no text to index. Add content or remove the file.")
    return [Document(source=source, text=body, title=title)]


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


_MD_TITLE = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _markdown_title(text: str) -> str:
    match = _MD_TITLE.search(text)
    return match.group(1) if match else ""


def _load_jsonl(source: str, text: str) -> list[Document]:
    docs: list[Document] = []
    bad = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            body = record["text"]
            if not isinstance(body, str):
                raise TypeError("'text' is not a string")
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            bad += 1
            log.warning("%s line %d skipped: %s", source, number, exc)
            continue
        if not body.strip():
            continue
        record_id = str(record.get("_id", record.get("id", number)))
        title = record.get("title") or ""
        full = f"{title}\n\n{body}" if title else body
        extra = {k: v for k, v in (record.get("metadata") or {}).items() if isinstance(v, str | int | float | bool)}
        docs.append(Document(source=f"{source}#{record_id}", text=_normalise(full), title=title, metadata=extra))
    if not docs:
        reason = f"{bad} malformed line(s) and no usable record" if bad else "no records with text"
        raise LoadError(
            source, f"{reason}. Each line must be a JSON object with a 'text' field (BEIR: _id, title, text)."
        )
    return docs


def _load_pdf(path: Path) -> Document:
    source = str(path)
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError:  # pragma: no cover - pypdf is in the rag extra
        raise LoadError(source, "reading PDFs needs pypdf: pip install pypdf") from None
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise LoadError(source, "encrypted PDF. Decrypt it first (e.g. `qpdf --decrypt`).")
        pages = [page.extract_text() or "" for page in reader.pages]
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(source, f"corrupt or unreadable PDF ({type(exc).__name__}: {exc}). Re-export it.") from None
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for page in pages:
        starts.append(offset)
        page = _normalise(page)
        parts.append(page)
        offset += len(page) + 2
    text = "\n\n".join(parts)
    if not text.strip():
        raise LoadError(source, "PDF has no extractable text (scanned images?). Run OCR on it first.")
    title = ""
    try:
        title = str((reader.metadata or {}).get("/Title") or "")
    except (PyPdfError, ValueError, KeyError, TypeError):
        title = ""
    return Document(source=source, text=text, title=title, page_starts=tuple(starts))


class _HTMLText(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "svg", "head"}
    _BLOCK = {
        "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header", "footer",
        "blockquote", "pre", "hr", "nav", "main", "aside", "dd", "dt", "figure", "figcaption",
    }  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIP:
            self._skip += 1
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self._BLOCK:
            self.parts.append("\n\n" if tag == "p" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6", "p"}:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skip:
            self.parts.append(data)


def parse_html(html: str) -> tuple[str, str]:
    """Return ``(title, text)`` of an HTML page: visible text only, headings kept as Markdown ``#`` lines.

    Example:
        >>> parse_html("<title>T</title><h1>Intro</h1><p>Hello &amp; bye<script>x()</script></p>")
        ('T', '# Intro\\n\\nHello & bye')
    """
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    title = " ".join("".join(parser.title).split())
    if not title:
        title = _markdown_title(text)
    return title, text
