"""Files MCP server: read, list, search and (unless ``--read-only``) write text files under allowed roots.

Run it with ``python -m mcploom.mcp_servers.files ROOT [ROOT...] [--read-only]``. Every path goes through
``mcploom.mcp_servers._sandbox.Sandbox``: nothing outside the roots is reachable, through ``..``,
absolute paths, ``~``, symlinks or encoded separators.
"""

from __future__ import annotations

import argparse
import difflib
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from mcploom.mcp_servers._annotations import READ_ONLY, WRITES, WRITES_IDEMPOTENT
from mcploom.mcp_servers._glob import glob_matcher
from mcploom.mcp_servers._sandbox import PathPolicyError, Sandbox
from mcploom.mcp_servers._serve import ServerCommand, existing_folder
from mcploom.mcp_servers._server import McploomServer

__all__ = ["COMMAND", "create_server", "main"]

DEFAULT_MAX_READ_BYTES = 1_000_000
DEFAULT_MAX_WRITE_BYTES = 5_000_000
MAX_LIST_ENTRIES = 1000
MAX_SEARCH_FILES = 20_000
MAX_LINE_CHARS = 300

EntryType = Literal["file", "directory", "symlink", "other"]
"""What a directory entry is; symlinks are reported as such and never followed."""


class FileText(BaseModel):
    """A window of lines from a text file."""

    path: str = Field(description="The file, relative to the first root.")
    content: str = Field(description="The lines read, newlines kept.")
    start_line: int = Field(description="Number of the first line returned (1-based).")
    end_line: int = Field(description="Number of the last line returned (0 if none).")
    size_bytes: int = Field(description="Size of the whole file.")
    truncated: bool = Field(description="True if the file goes on after end_line.")
    next_start_line: int | None = Field(description="Pass as start_line to read on, when truncated.")


class Entry(BaseModel):
    """One directory entry."""

    name: str
    type: EntryType
    size: int | None = Field(description="Size in bytes, for files.")


class DirListing(BaseModel):
    """The entries of one directory, sorted by name."""

    path: str
    entries: list[Entry]
    truncated: bool = Field(description=f"True if the directory has more than {MAX_LIST_ENTRIES} entries.")


class Match(BaseModel):
    """A file whose path matches, or one line containing the searched text."""

    path: str
    line: int | None = Field(description="Line number (1-based) for a text match, else null.")
    text: str | None = Field(description="The matching line (shortened), for a text match.")


class SearchResult(BaseModel):
    """Matches of a glob (and text) search."""

    matches: list[Match]
    files_scanned: int
    truncated: bool = Field(description="True if more matches exist than were returned.")


class WriteResult(BaseModel):
    """What a write did."""

    path: str
    bytes_written: int
    created: bool = Field(description="True if the file did not exist before.")


class EditResult(BaseModel):
    """What an exact-text replacement did (or would do, on a dry run)."""

    path: str
    replacements: int
    applied: bool = Field(description="False on a dry run.")
    diff: str = Field(description="Unified diff of the change.")


class MoveResult(BaseModel):
    """Where a file or directory went."""

    source: str
    destination: str


@contextmanager
def _tool_errors() -> Iterator[None]:
    """Turn refusals and OS errors into ``ToolError`` messages the model can act on."""
    try:
        yield
    except ToolError:
        raise
    except PathPolicyError as exc:
        raise ToolError(f"Refused: {exc}") from None
    except FileNotFoundError as exc:
        message = exc.args[0] if len(exc.args) == 1 else f"No file or directory {exc.filename!r}."
        raise ToolError(f"{message} Use list_dir or search to find the right path.") from None
    except OSError as exc:
        where = f" ({os.path.basename(exc.filename)})" if exc.filename else ""
        raise ToolError(f"{exc.strerror or exc}{where}.") from None


def _read_lines(fd: int, start_line: int, max_lines: int | None, max_bytes: int) -> tuple[list[str], bool]:
    """Read lines from ``start_line`` until ``max_lines`` or ``max_bytes``; say if more follow.

    No line is read past ``max_bytes``, so one enormous line cannot fill memory.
    """
    lines: list[str] = []
    used = 0
    with os.fdopen(os.dup(fd), "rb") as handle:
        if b"\x00" in handle.peek(8192)[:8192]:
            raise ToolError("The file looks binary (it contains null bytes); read_text reads UTF-8 text only.")
        number = 0
        while raw := handle.readline(max_bytes + 1):
            number += 1
            if len(raw) > max_bytes:
                raise ToolError(f"Line {number} is longer than the {max_bytes}-byte limit; this is not line text.")
            if number < start_line:
                continue
            if (max_lines is not None and len(lines) >= max_lines) or used + len(raw) > max_bytes:
                return lines, True
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise ToolError(f"Line {number} is not UTF-8 text; read_text reads UTF-8 text only.") from None
            used += len(raw)
    return lines, False


def create_server(
    roots: Sequence[str | os.PathLike[str]],
    *,
    read_only: bool = False,
    max_read_bytes: int = DEFAULT_MAX_READ_BYTES,
    max_write_bytes: int = DEFAULT_MAX_WRITE_BYTES,
    allow_hard_links: bool = False,
) -> MCPServer:
    """Build the files server over ``roots``; ``read_only`` leaves out write_text, edit and move.

    ``allow_hard_links`` lets the tools read files with more than one hard link, which they
    refuse by default: such a link can share the data of a file outside the roots.

    Raises:
        PathPolicyError: No root given, or a root is not an existing directory.
    """
    sandbox = Sandbox(roots, allow_hard_links=allow_hard_links)
    shown_roots = ", ".join(str(root) for root in sandbox.roots)
    server = McploomServer(
        "mcploom-files",
        instructions=(
            f"Text files under {shown_roots}. Paths are relative to {sandbox.roots[0]} or absolute in a root."
            + (" Read-only." if read_only else "")
        ),
    )

    @server.resource("files://roots", mime_type="application/json")
    def allowed_roots() -> list[str]:
        """The directories this server may read (and, unless read-only, write)."""
        return [str(root) for root in sandbox.roots]

    @server.tool(annotations=READ_ONLY)
    def read_text(
        path: Annotated[str, Field(description="File path, relative to the first root or absolute inside a root.")],
        start_line: Annotated[int, Field(ge=1, description="First line to return (1-based).")] = 1,
        max_lines: Annotated[int | None, Field(ge=1, description="Most lines to return; all if omitted.")] = None,
    ) -> FileText:
        """Read a UTF-8 text file or a window of its lines. Long files come in parts: see next_start_line."""
        with _tool_errors():
            real = sandbox.resolve(path)
            if real.is_dir():
                raise ToolError(f"{path!r} is a directory; use list_dir to see what it holds.")
            with sandbox.open_file(real) as fd:
                size = os.fstat(fd).st_size
                lines, more = _read_lines(fd, start_line, max_lines, max_read_bytes)
        end = start_line + len(lines) - 1 if lines else 0
        return FileText(
            path=sandbox.display(real),
            content="".join(lines),
            start_line=start_line,
            end_line=end,
            size_bytes=size,
            truncated=more,
            next_start_line=end + 1 if more else None,
        )

    @server.tool(annotations=READ_ONLY)
    def list_dir(
        path: Annotated[str, Field(description="Directory, relative to the first root; '.' is the first root.")] = ".",
    ) -> DirListing:
        """List a directory: names, types (file, directory, symlink) and file sizes."""
        with _tool_errors():
            real = sandbox.resolve(path)
            if not real.is_dir():
                if real.is_file():
                    raise ToolError(f"{path!r} is a file, not a directory; use read_text to read it.")
                raise ToolError(
                    f"{path!r} is neither a directory nor a regular file; list_dir its parent to see what it is."
                )
            # Through the checked descriptor, not the path: if a link to elsewhere takes the
            # directory's name after the check, this still lists the directory that was checked.
            with sandbox.open_dir(real) as dir_fd:
                names = sorted(os.listdir(real if dir_fd is None else dir_fd))
                entries: list[Entry] = []
                for name in names[:MAX_LIST_ENTRIES]:
                    try:
                        info = sandbox.lstat(real / name, dir_fd)
                    except OSError:  # gone since the listing
                        continue
                    entries.append(_entry(name, info))
        return DirListing(path=sandbox.display(real), entries=entries, truncated=len(names) > MAX_LIST_ENTRIES)

    @server.tool(annotations=READ_ONLY)
    def search(
        pattern: Annotated[
            str,
            Field(description="Glob: '*.md' matches file names, 'src/**/*.py' matches paths below `path`."),
        ] = "*",
        text: Annotated[
            str | None, Field(description="Also require this text in the file; returns matching lines.")
        ] = None,
        path: Annotated[str, Field(description="Directory to search under; '.' is the first root.")] = ".",
        case_sensitive: Annotated[bool, Field(description="Match pattern and text case-sensitively.")] = False,
        max_results: Annotated[int, Field(ge=1, le=1000, description="Most matches to return.")] = 100,
    ) -> SearchResult:
        """Find files by glob pattern (at most 1000 characters) and, optionally, the lines that contain a text.

        Symlinks are skipped. A text search skips binary, non-UTF-8, oversized and special files, and
        files with more than one hard link unless the server allows them.
        """
        try:
            matcher = glob_matcher(pattern, case_sensitive=case_sensitive)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        on_path = "/" in pattern
        needle = text if case_sensitive or text is None else text.lower()
        matches: list[Match] = []
        scanned = 0
        with _tool_errors():
            top = sandbox.resolve(path)
            if not top.is_dir():
                raise ToolError(f"{path!r} is not a directory; search under a directory.")
            # closing(): an early return shuts the walk's descriptors at once.
            with closing(sandbox.walk(top)) as walk:
                for folder, dirs, files, dir_fd in walk:
                    dirs.sort()
                    for name in sorted(files):
                        full = folder / name
                        relative = full.relative_to(top).as_posix()
                        if not matcher(relative if on_path else name) or sandbox.is_link(full, dir_fd):
                            continue
                        scanned += 1
                        if scanned > MAX_SEARCH_FILES:
                            return SearchResult(matches=matches, files_scanned=scanned - 1, truncated=True)
                        if needle is None:
                            matches.append(Match(path=sandbox.display(full), line=None, text=None))
                        else:
                            matches.extend(_grep(sandbox, full, dir_fd, needle, case_sensitive, max_read_bytes))
                        if len(matches) > max_results:
                            return SearchResult(matches=matches[:max_results], files_scanned=scanned, truncated=True)
        return SearchResult(matches=matches, files_scanned=scanned, truncated=False)

    if read_only:
        return server

    def check_size(data: bytes) -> bytes:
        if len(data) > max_write_bytes:
            raise ToolError(f"Content is {len(data)} bytes; the write limit is {max_write_bytes}. Write less.")
        return data

    @server.tool(annotations=WRITES_IDEMPOTENT)
    def write_text(
        path: Annotated[str, Field(description="File to write, relative to the first root or absolute in a root.")],
        content: Annotated[str, Field(description="The whole new content, UTF-8 text.")],
        overwrite: Annotated[bool, Field(description="Replace the file if it exists.")] = False,
        create_dirs: Annotated[bool, Field(description="Create missing parent directories.")] = False,
    ) -> WriteResult:
        """Create a text file (or replace one with overwrite=true). The write is atomic."""
        data = check_size(content.encode("utf-8"))
        with _tool_errors():
            if create_dirs and "/" in path.strip("/"):
                sandbox.make_dirs(path.rstrip("/").rsplit("/", 1)[0])
            parent, name = sandbox.resolve_new(path)
            existed = os.path.lexists(parent / name)
            if existed and not overwrite:
                raise ToolError(f"{path!r} exists. Pass overwrite=true to replace it, or use edit to change part.")
            sandbox.write_atomic(parent, name, data)
        return WriteResult(path=sandbox.display(parent / name), bytes_written=len(data), created=not existed)

    @server.tool(annotations=WRITES)
    def edit(
        path: Annotated[str, Field(description="Text file to change.")],
        old_text: Annotated[str, Field(min_length=1, description="Exact text to replace, whitespace included.")],
        new_text: Annotated[str, Field(description="Text to put in its place.")],
        replace_all: Annotated[bool, Field(description="Replace every occurrence, not just a unique one.")] = False,
        dry_run: Annotated[bool, Field(description="Only show the diff; change nothing.")] = False,
    ) -> EditResult:
        """Replace exact text in a file (once, unless replace_all). dry_run=true only shows the diff."""
        with _tool_errors():
            real = sandbox.resolve(path)
            with sandbox.open_file(real) as fd:
                size = os.fstat(fd).st_size
                if size > max_write_bytes:
                    raise ToolError(f"{path!r} is {size} bytes; edit handles files up to {max_write_bytes}.")
                lines, _ = _read_lines(fd, 1, None, max_write_bytes)
            before = "".join(lines)
            count = before.count(old_text)
            if count == 0:
                raise ToolError(
                    f"old_text was not found in {path!r}. read_text the file and copy the exact text, "
                    "whitespace and line breaks included."
                )
            if count > 1 and not replace_all:
                raise ToolError(
                    f"old_text occurs {count} times in {path!r}. Include more surrounding text to make it "
                    "unique, or pass replace_all=true."
                )
            after = before.replace(old_text, new_text)
            shown = sandbox.display(real)
            diff = "".join(
                difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    f"a/{shown}",
                    f"b/{shown}",
                )
            )
            if not dry_run:
                sandbox.write_atomic(real.parent, real.name, check_size(after.encode("utf-8")))
        return EditResult(path=shown, replacements=count, applied=not dry_run, diff=diff)

    @server.tool(annotations=WRITES)
    def move(
        source: Annotated[str, Field(description="File or directory to move or rename.")],
        destination: Annotated[str, Field(description="New path (not an existing directory to move into).")],
        overwrite: Annotated[bool, Field(description="Replace an existing destination file.")] = False,
    ) -> MoveResult:
        """Move or rename a file or directory within the allowed roots."""
        with _tool_errors():
            if os.path.islink(sandbox.absolute(source)):
                raise ToolError(f"{source!r} is a symbolic link; move only moves real files and directories.")
            real = sandbox.resolve(source)
            if real in sandbox.roots:
                raise ToolError(f"{source!r} is an allowed root; it cannot be moved.")
            target = sandbox.absolute(destination)
            if os.path.isdir(target) and not os.path.islink(target):
                raise ToolError(f"{destination!r} is an existing directory; give the full new path, name included.")
            if os.path.lexists(target) and not overwrite:
                raise ToolError(f"{destination!r} exists. Pass overwrite=true to replace it.")
            parent, name = sandbox.resolve_new(destination)
            if _within_dir(parent / name, real):
                raise ToolError(f"Cannot move {source!r} into itself.")
            sandbox.rename(real, parent, name)
        return MoveResult(source=sandbox.display(real), destination=sandbox.display(parent / name))

    return server


def _entry(name: str, info: os.stat_result) -> Entry:
    kind: EntryType = (
        "symlink"
        if stat.S_ISLNK(info.st_mode)
        else "directory"
        if stat.S_ISDIR(info.st_mode)
        else "file"
        if stat.S_ISREG(info.st_mode)
        else "other"
    )
    return Entry(name=name, type=kind, size=info.st_size if kind == "file" else None)


def _within_dir(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _grep(
    sandbox: Sandbox, full: Path, dir_fd: int | None, needle: str, case_sensitive: bool, max_bytes: int
) -> list[Match]:
    """Lines of one file that contain ``needle``; binary, non-UTF-8, oversized and refused files give none.

    ``dir_fd`` is the file's directory as the walk opened it: the file is opened relative to it.
    """
    try:
        with sandbox.open_file(full, dir_fd=dir_fd) as fd:
            if os.fstat(fd).st_size > max_bytes:
                return []
            data = os.read(fd, max_bytes + 1)
    except (OSError, PathPolicyError):
        return []
    if b"\x00" in data[:8192]:
        return []
    try:
        body = data.decode("utf-8")
    except UnicodeDecodeError:
        return []
    found = []
    for number, line in enumerate(body.splitlines(), start=1):
        if needle in (line if case_sensitive else line.lower()):
            found.append(Match(path=sandbox.display(full), line=number, text=line[:MAX_LINE_CHARS]))
    return found


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "roots", nargs="+", metavar="ROOT", type=existing_folder, help="Directory the server may access."
    )
    parser.add_argument("--read-only", action="store_true", help="Leave out write_text, edit and move.")
    parser.add_argument("--max-read-bytes", type=int, default=DEFAULT_MAX_READ_BYTES, help="Bytes per read.")
    parser.add_argument("--max-write-bytes", type=int, default=DEFAULT_MAX_WRITE_BYTES, help="Bytes per write.")
    parser.add_argument(
        "--allow-hard-links",
        action="store_true",
        help="Read files that have more than one hard link (refused by default: one can lead outside the roots).",
    )


def _from_arguments(args: argparse.Namespace) -> MCPServer:
    try:
        return create_server(
            args.roots,
            read_only=args.read_only,
            max_read_bytes=args.max_read_bytes,
            max_write_bytes=args.max_write_bytes,
            allow_hard_links=args.allow_hard_links,
        )
    except PathPolicyError as exc:
        raise SystemExit(f"mcploom serve files: {exc}") from None


COMMAND = ServerCommand("files", __doc__.splitlines()[0], _from_arguments, _add_arguments)
"""``python -m mcploom.mcp_servers.files ROOT... [--read-only]`` (``mcploom serve files``)."""

main = COMMAND.main

if __name__ == "__main__":
    main()
