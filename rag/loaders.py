"""Read files into ``Document``s: text, Markdown, HTML (text only), PDF and BEIR-style JSONL.

Example:
    >>> from mcploom.rag.loaders import SUPPORTED_SUFFIXES
    >>> sorted(SUPPORTED_SUFFIXES)[:3]
    ['.htm', '.html', '.jsonl']
"""

from __future__ import annotations

import errno
import fnmatch
import io
import json
import logging
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from html.parser import HTMLParser
from pathlib import Path

from mcploom.rag.documents import Document
from mcploom.rag.errors import LoadError

__all__ = ["SUPPORTED_SUFFIXES", "DEFAULT_EXCLUDE", "SkipCallback", "iter_files", "load_file", "parse_html"]

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl"})
DEFAULT_EXCLUDE: tuple[str, ...] = (".*", "__pycache__", "node_modules")
"""Names skipped when walking directories (hidden files and folders, caches)."""

SkipCallback = Callable[[str, str], None]
"""Called as ``on_skip(path, reason)`` for an entry of a walked folder that is not read."""

_SNIFF_BYTES = 8192
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = _READ_FLAGS | getattr(os, "O_DIRECTORY", 0)

_SYMLINK = (
    "symbolic link: not followed. Links inside ingested folders are skipped; "
    "ingest the file or folder it points to by its own path if it belongs in the index."
)
_MOVED = (
    "a folder on its path is (or just became) a symbolic link: not read. "
    "Ingest the file by its real path, without links on the way."
)
_KINDS = {
    stat.S_IFDIR: "directory",
    stat.S_IFIFO: "FIFO",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFLNK: "symbolic link",
}


def _not_regular(mode: int) -> str:
    kind = _KINDS.get(stat.S_IFMT(mode), "special file")
    return (
        f"not a regular file ({kind}): not read. Only regular files are ingested; "
        "move it out of the folder or exclude it with an exclude glob."
    )


def _log_skip(path: str, reason: str) -> None:
    log.warning("At %s: %s", path, reason)


def iter_files(
    paths: Iterable[str | Path],
    *,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    resolve_paths: bool = True,
    on_skip: SkipCallback | None = None,
) -> Iterator[Path]:
    """Yield the files to ingest: files as given, directories walked recursively in sorted order.

    Walking never follows a symbolic link (to a file or a folder) and yields only regular files;
    folders are listed through descriptors opened without following links, so a folder swapped
    for a link during the walk is not entered. Entries that are not read are passed to ``on_skip``:
    symbolic links and special files (FIFOs, sockets, devices) whose name would have been taken,
    links to folders, and folders that cannot be listed.

    Args:
        paths: Files and directories.
        include: Glob patterns a walked file's name or relative path must match
            (default: any supported suffix). Files named directly are always yielded.
        exclude: Glob patterns; a walked file or folder whose name or relative path matches is skipped.
        resolve_paths: Resolve the paths named (following links in them, the caller chose them).
            ``False`` takes them as given and skips one that is, or passes through, a symbolic link:
            for callers that resolved and checked the paths already.
        on_skip: ``on_skip(path, reason)`` for each entry not read (default: log a warning).

    Raises:
        LoadError: A path does not exist or cannot be examined.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "a.md").write_text("# A")
        >>> (folder / "b.md").symlink_to("/etc/hostname")
        >>> skipped = []
        >>> [p.name for p in iter_files([folder], on_skip=lambda path, why: skipped.append((Path(path).name, why)))]
        ['a.md']
        >>> skipped[0][0], skipped[0][1].split(".")[0]
        ('b.md', 'symbolic link: not followed')
    """
    skip = on_skip or _log_skip
    for raw in paths:
        given = Path(raw).expanduser()
        try:
            path = given.resolve() if resolve_paths else Path(os.path.abspath(given))
            info = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            raise LoadError(str(raw), "no such file or directory. Check the path.") from None
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop, before Python 3.13
            reason = getattr(exc, "strerror", None) or exc
            raise LoadError(str(raw), f"cannot be examined ({reason}). Check the path and its permissions.") from None
        if stat.S_ISREG(info.st_mode):
            yield path
        elif stat.S_ISLNK(info.st_mode):
            skip(str(path), _SYMLINK)
        elif stat.S_ISDIR(info.st_mode):
            yield from sorted(_walk_folder(path, include, exclude, skip, check_real=not resolve_paths))
        else:
            skip(str(path), _not_regular(info.st_mode))


def _matches(patterns: Sequence[str], path: Path, root: Path) -> bool:
    rel = path.relative_to(root).as_posix()
    return any(fnmatch.fnmatch(path.name, p) or fnmatch.fnmatch(rel, p) for p in patterns)


def _wanted(path: Path, root: Path, include: Sequence[str] | None) -> bool:
    if include is None:
        return path.suffix.lower() in SUPPORTED_SUFFIXES
    return _matches(include, path, root)


def _walk_folder(
    root: Path, include: Sequence[str] | None, exclude: Sequence[str], skip: SkipCallback, *, check_real: bool
) -> list[Path]:
    try:
        fd = os.open(root, _DIR_FLAGS)
    except OSError as exc:
        skip(str(root), _SYMLINK if exc.errno == errno.ELOOP else _unlistable(exc))
        return []
    try:
        if check_real and not _opened_at(fd, root):
            skip(str(root), _MOVED)
            return []
        found: list[Path] = []
        _walk(fd, root, root, include, exclude, skip, found)
        return found
    finally:
        os.close(fd)


def _unlistable(exc: OSError) -> str:
    return f"folder cannot be listed ({exc.strerror or exc}): skipped. Check its permissions."


def _walk(
    fd: int,
    folder: Path,
    root: Path,
    include: Sequence[str] | None,
    exclude: Sequence[str],
    skip: SkipCallback,
    found: list[Path],
) -> None:
    """List the folder open at ``fd``; sub-folders are opened relative to it, never through a link."""
    try:
        with os.scandir(fd) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        skip(str(folder), _unlistable(exc))
        return
    for entry in entries:
        path = folder / entry.name
        if _matches(exclude, path, root):
            continue
        try:
            if entry.is_symlink():
                if _wanted(path, root, include) or entry.is_dir():  # is_dir(): a stat, nothing is opened
                    skip(str(path), _SYMLINK)
            elif entry.is_dir(follow_symlinks=False):
                try:
                    sub = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    skip(str(path), _SYMLINK if exc.errno == errno.ELOOP else _unlistable(exc))
                    continue
                try:
                    _walk(sub, path, root, include, exclude, skip, found)
                finally:
                    os.close(sub)
            elif entry.is_file(follow_symlinks=False):
                if _wanted(path, root, include):
                    found.append(path)
            elif _wanted(path, root, include):
                skip(str(path), _not_regular(entry.stat(follow_symlinks=False).st_mode))
        except OSError as exc:
            skip(str(path), f"cannot be examined ({exc.strerror or exc}): skipped. Check its permissions.")


def _fd_path(fd: int) -> str | None:
    """The real path of an open descriptor from Linux ``/proc`` (``None`` elsewhere or without ``/proc``).

    macOS ``F_GETPATH`` is not used: on a case-insensitive volume it reports the on-disk case, which
    need not match the path the caller gave.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def _opened_at(fd: int, path: Path) -> bool:
    """Whether the descriptor is the object at ``path`` itself, reached through no symbolic link.

    Linux answers atomically through ``/proc``; elsewhere ``path`` must be its own real path and name
    the same file as the descriptor.
    """
    actual = _fd_path(fd)
    if actual is not None:
        return actual == os.fspath(path)
    try:
        return os.path.realpath(path) == os.fspath(path) and os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def _read_regular(path: Path, *, allow_hard_links: bool) -> bytes:
    """The bytes of the regular file at the real path ``path``, opened without following links.

    The descriptor is opened ``O_NOFOLLOW | O_NONBLOCK`` (a FIFO swapped in cannot block) and
    checked with ``fstat`` (a regular file; one link unless ``allow_hard_links``) and by its real
    path (no folder on the way was swapped for a link) before anything is read.
    """
    source = str(path)
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise LoadError(source, "no such file. Check the path.") from None
    except OSError as exc:
        raise LoadError(source, f"cannot be examined ({exc.strerror}). Check its permissions.") from None
    if not stat.S_ISREG(info.st_mode):  # never open a device or FIFO, not even to look
        raise LoadError(source, _SYMLINK if stat.S_ISLNK(info.st_mode) else _not_regular(info.st_mode))
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        raise LoadError(source, "no such file. Check the path.") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LoadError(source, _SYMLINK) from None
        raise LoadError(source, f"cannot be opened ({exc.strerror}). Check its permissions.") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise LoadError(source, _not_regular(opened.st_mode))
        if not allow_hard_links and opened.st_nlink > 1:
            raise LoadError(
                source,
                f"hard-linked file ({opened.st_nlink} links): not read, since its content may belong to a file "
                "outside the ingested folders. Copy the file instead of linking it.",
            )
        if not _opened_at(fd, path):
            raise LoadError(source, _MOVED)
        parts: list[bytes] = []
        while block := os.read(fd, 1 << 20):
            parts.append(block)
        return b"".join(parts)
    except OSError as exc:
        raise LoadError(source, f"cannot be read ({exc.strerror}). Check the file and the disk.") from None
    finally:
        os.close(fd)


def load_file(path: str | Path, *, allow_hard_links: bool = True) -> list[Document]:
    """Load one file into documents (one, or one per record for ``.jsonl``).

    ``path`` is resolved first (links in it are followed: the caller named it), then the real file is
    opened without following links and read only if it is a regular file.

    Args:
        path: The file.
        allow_hard_links: Read a file that has more than one hard link. ``False`` refuses it: a hard link
            can give a folder a name for a file that lives elsewhere.

    Raises:
        LoadError: The file is missing, not a regular file, hard-linked (when refused), empty, binary,
            not UTF-8, corrupt, or of an unsupported type; the message names the file and says what to do.
    """
    try:
        real = Path(path).expanduser().resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop, before Python 3.13
        reason = getattr(exc, "strerror", None) or exc
        raise LoadError(str(path), f"cannot be resolved ({reason}). Fix or remove the symbolic link.") from None
    return _load_real(real, allow_hard_links=allow_hard_links)


def _load_real(path: Path, *, allow_hard_links: bool = True) -> list[Document]:
    """``load_file`` for a path that is already real (as ``iter_files`` yields): it is not resolved again,
    and a path that passes through a symbolic link is refused."""
    source = str(path)
    raw = _read_regular(path, allow_hard_links=allow_hard_links)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return [_load_pdf(source, raw)]
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


def _load_pdf(source: str, raw: bytes) -> Document:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError:  # pragma: no cover - pypdf is in the rag extra
        raise LoadError(source, "reading PDFs needs pypdf: pip install pypdf") from None
    try:
        reader = PdfReader(io.BytesIO(raw))
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
