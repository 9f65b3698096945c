"""Path policy for the files server: map a path a model sent to a real path inside the allowed roots.

Every filesystem operation of ``mcploom.mcp_servers.files`` goes through a :class:`Sandbox`. The rules,
at least as strict as the MCP reference filesystem server:

* The text is checked first: no null bytes or control characters, no ``~``, no ``..``
  component, no backslash or drive letter (``C:``), no ``file:`` URL, no percent-encoded
  separator, dot or null (``%2f``, ``%5c``, ``%2e``, ``%00``), and OS length limits.
* A relative path is taken from the first root; an absolute path must lie inside a root.
* The real path (every symlink resolved) must lie inside a root. For a path that does not
  exist yet, the real path of its parent must, and the last component must not be a link.
* Files are opened with ``O_NOFOLLOW`` and the opened descriptor's real path is checked again,
  so a symlink swapped in after the check is refused instead of followed. Directories are listed
  and walked through such checked descriptors too, never by path, so a directory swapped for a
  link after the check shows nothing of where the link leads.
* Reads open with ``O_NONBLOCK`` and check the type on the descriptor (``fstat``) before reading:
  a FIFO, socket or device is refused, never waited on. A regular file with more than one hard
  link is refused unless ``allow_hard_links``: a hard link made inside a root can share an outside
  file's data, and no path check can tell.
* Writes go to a temporary file created (``O_EXCL``) in a directory opened and checked the same
  way, and ``os.replace`` renames it over the target: a rename replaces a symlink planted at the
  target, it never writes through it (nor through a hard link).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PathPolicyError", "Sandbox"]

MAX_PATH_CHARS = 4096
MAX_NAME_BYTES = 255

_DRIVE = re.compile(r"^[A-Za-z]:")
_ENCODED = re.compile(r"%(2[eEfF]|5[cC]|00)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO without it waits for a writer
_NOCTTY = getattr(os, "O_NOCTTY", 0)  # a terminal opened must not become the server's controlling one
_DIR_FD = os.open in os.supports_dir_fd and os.rename in os.supports_dir_fd  # os.replace shares rename's dir_fd support


class PathPolicyError(ValueError):
    """A path was refused: it is malformed or leads outside the allowed roots."""


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _kind(mode: int) -> str:
    """What a file's mode makes it, in words for a refusal."""
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISREG(mode):
        return "regular file"
    return "special file"


def _relative(real: Path, dir_fd: int | None) -> Path | str:
    """What to pass with ``dir_fd``: the last component when there is a directory descriptor."""
    return real.name if dir_fd is not None else real


def _fd_path(fd: int) -> str | None:
    """The real path of an open descriptor, where the OS can tell it."""
    if sys.platform.startswith("linux"):
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return None
    if sys.platform == "darwin":
        import fcntl

        try:
            raw = fcntl.fcntl(fd, fcntl.F_GETPATH, b"\0" * 1024)  # type: ignore[attr-defined]
        except OSError:
            return None
        return os.fsdecode(raw.rstrip(b"\0"))
    return None


class Sandbox:
    """The allowed roots and the checks that keep every path inside them.

    Args:
        roots: Existing directories. Each is resolved to its real path once, at start-up.
        allow_hard_links: Read regular files that have more than one hard link.

    Raises:
        PathPolicyError: No root was given, or one is not an existing directory.

    Example:
        >>> import tempfile
        >>> sandbox = Sandbox([tempfile.mkdtemp()])
        >>> sandbox.resolve("notes/../../etc/passwd")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        mcp_servers._sandbox.PathPolicyError: Path 'notes/../../etc/passwd' contains '..'
    """

    def __init__(self, roots: Sequence[str | os.PathLike[str]], *, allow_hard_links: bool = False) -> None:
        if not roots:
            raise PathPolicyError("No allowed root directory was given. Pass at least one directory.")
        given: list[str] = []
        real: list[str] = []
        for root in roots:
            absolute = os.path.abspath(os.path.expanduser(os.fspath(root)))
            if not os.path.isdir(absolute):
                raise PathPolicyError(f"Allowed root {os.fspath(root)!r} is not an existing directory.")
            given.append(absolute)
            real.append(os.path.realpath(absolute))
        self._given = tuple(given)
        self.roots: tuple[Path, ...] = tuple(Path(r) for r in real)
        """The real paths of the allowed roots; relative paths start from the first."""
        self._real = tuple(real)
        self.allow_hard_links = allow_hard_links

    # -- checks on the text ---------------------------------------------------------------

    def absolute(self, path: str) -> str:
        """Check the text of ``path`` and return the absolute path it names (symlinks not resolved)."""
        shown = repr(path if len(path) <= 200 else path[:200] + "...")
        if "\x00" in path or "%00" in path:
            raise PathPolicyError(f"Path {shown} contains a null byte. Send a plain path.")
        if _CONTROL.search(path):
            raise PathPolicyError(f"Path {shown} contains a control character. Send a plain path.")
        if len(path) > MAX_PATH_CHARS:
            raise PathPolicyError(f"Path is {len(path)} characters long; the limit is {MAX_PATH_CHARS}.")
        if path.startswith("~"):
            raise PathPolicyError(
                f"Path {shown} starts with '~'; home expansion is not allowed. Use a path in {self._hint()}."
            )
        if "\\" in path or _DRIVE.match(path):
            raise PathPolicyError(f"Path {shown} uses Windows syntax (backslash or drive letter). Use '/' separators.")
        if path.lower().startswith("file:"):
            raise PathPolicyError(f"Path {shown} is a URL. Send a plain path inside {self._hint()}.")
        if _ENCODED.search(path):
            raise PathPolicyError(
                f"Path {shown} contains a percent-encoded separator or dot. Send the plain, decoded path."
            )
        parts = [part for part in path.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise PathPolicyError(f"Path {shown} contains '..'; use a path inside {self._hint()} without '..'.")
        for part in parts:
            if len(os.fsencode(part)) > MAX_NAME_BYTES:
                raise PathPolicyError(f"A name in path {shown} is longer than {MAX_NAME_BYTES} bytes.")
        if path.startswith("/"):
            absolute = os.path.normpath(path)
            for given, real in zip(self._given, self._real, strict=True):
                for base in (real, given):
                    if _within(absolute, base):
                        return real + absolute[len(base) :] if absolute != base else real
            raise PathPolicyError(f"Path {shown} is outside the allowed roots {self._hint()}.")
        return os.path.join(self._real[0], *parts)

    def _hint(self) -> str:
        return ", ".join(self._real)

    def _check_real(self, real: str, shown: str) -> str:
        if not any(_within(real, root) for root in self._real):
            raise PathPolicyError(f"Path {shown!r} resolves outside the allowed roots {self._hint()}.")
        return real

    # -- resolution -----------------------------------------------------------------------

    def resolve(self, path: str) -> Path:
        """Return the real path of an existing file or directory inside the roots.

        Raises:
            PathPolicyError: The path is malformed or resolves outside the roots.
            FileNotFoundError: Nothing exists at the path.
        """
        candidate = self.absolute(path)
        try:
            real = os.path.realpath(candidate, strict=True)
        except FileNotFoundError:
            raise FileNotFoundError(f"No file or directory at {path!r}.") from None
        except OSError as exc:  # ELOOP: a symlink loop
            raise PathPolicyError(f"Path {path!r} cannot be resolved: {exc.strerror}.") from None
        return Path(self._check_real(real, path))

    def resolve_new(self, path: str) -> tuple[Path, str]:
        """Return ``(real parent directory, name)`` for a file to create or replace.

        An existing target is resolved like :meth:`resolve` (it must be a file); a missing one
        needs an existing parent whose real path is inside the roots.

        Raises:
            PathPolicyError: The path is malformed, a root itself, a directory, a dangling
                symlink, or leads outside the roots.
            FileNotFoundError: The parent directory does not exist.
        """
        candidate = self.absolute(path)
        if candidate in self._real:
            raise PathPolicyError(f"Path {path!r} is an allowed root itself; name a file inside it.")
        if os.path.lexists(candidate):
            real = str(self.resolve(path))
            if os.path.isdir(real):
                raise PathPolicyError(f"Path {path!r} is a directory; name a file.")
            return Path(os.path.dirname(real)), os.path.basename(real)
        parent, name = os.path.split(candidate)
        try:
            real_parent = os.path.realpath(parent, strict=True)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"The directory of {path!r} does not exist. Create it first or pick an existing directory."
            ) from None
        except OSError as exc:
            raise PathPolicyError(f"Path {path!r} cannot be resolved: {exc.strerror}.") from None
        self._check_real(real_parent, path)
        if not os.path.isdir(real_parent):
            raise PathPolicyError(f"The parent of {path!r} is not a directory.")
        return Path(real_parent), name

    def display(self, real: Path | str) -> str:
        """Show a real path as the model should send it back: relative to the first root, else absolute."""
        text = os.fspath(real)
        if _within(text, self._real[0]):
            return os.path.relpath(text, self._real[0])
        return text

    # -- checked descriptors --------------------------------------------------------------

    def _verify_fd(self, fd: int, expected: str) -> None:
        actual = _fd_path(fd)
        if actual is None:  # no /proc or F_GETPATH: compare identities instead
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(expected, follow_symlinks=False))
            except OSError:
                same = False
            if not same:
                raise PathPolicyError(f"{expected!r} changed while it was being opened; try again.")
            return
        if not any(_within(actual, root) for root in self._real):
            raise PathPolicyError(f"{expected!r} was swapped for a link outside the allowed roots; refused.")

    def lstat(self, real: Path, dir_fd: int | None = None) -> os.stat_result:
        """``os.lstat`` of a real path, or of ``real.name`` relative to ``dir_fd`` (its directory, checked).

        Relative to the descriptor, a parent swapped for a link after the check cannot redirect it.
        """
        return os.stat(_relative(real, dir_fd), dir_fd=dir_fd, follow_symlinks=False)

    def is_link(self, real: Path, dir_fd: int | None = None) -> bool:
        """Whether a real path (relative to ``dir_fd``, as for :meth:`lstat`) is a link; False if it is gone."""
        try:
            return stat.S_ISLNK(self.lstat(real, dir_fd).st_mode)
        except OSError:
            return False

    def _open_nofollow(self, real: Path, flags: int, dir_fd: int | None = None) -> int:
        """``os.open`` that refuses (rather than follows) a last component swapped for a link.

        It never waits either: ``O_NONBLOCK`` makes opening a FIFO return at once instead of
        waiting for a writer. With ``dir_fd``, only ``real.name`` is opened, relative to it.
        """
        try:
            return os.open(_relative(real, dir_fd), flags | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK) and self.is_link(real, dir_fd):
                raise PathPolicyError(
                    f"{self.display(real)!r} became a symbolic link after it was checked; refused."
                ) from None
            raise

    def _require_regular(self, mode: int, real: Path) -> None:
        if not stat.S_ISREG(mode):
            raise PathPolicyError(
                f"{self.display(real)!r} is a {_kind(mode)}, not a regular file; the files server reads "
                "only regular files. Use list_dir to see each entry's type."
            )

    @contextmanager
    def open_file(self, real: Path, *, dir_fd: int | None = None) -> Iterator[int]:
        """Open a resolved regular file for reading, checked, and yield a plain (blocking) descriptor.

        The file is opened without following a link and without waiting, and the descriptor is
        checked before anything is read: its real path, its type and its hard-link count. With
        ``dir_fd`` (the file's directory, as :meth:`walk` yields it), only the last component is
        opened, relative to it.

        Raises:
            PathPolicyError: The file became a link or moved out of the roots after the check, is
                not a regular file, or has more than one hard link and ``allow_hard_links`` is off.
        """
        # Looking first spares a FIFO or a device the open itself (opening a device can act on it);
        # a link is left to O_NOFOLLOW, which names it. The check on the descriptor is the binding one.
        mode = self.lstat(real, dir_fd).st_mode
        if not stat.S_ISLNK(mode):
            self._require_regular(mode, real)
        fd = self._open_nofollow(real, os.O_RDONLY | _NOCTTY, dir_fd)
        try:
            self._verify_fd(fd, os.fspath(real))
            info = os.fstat(fd)
            self._require_regular(info.st_mode, real)
            if info.st_nlink > 1 and not self.allow_hard_links:
                raise PathPolicyError(
                    f"{self.display(real)!r} has {info.st_nlink} hard links; a hard link can lead outside the "
                    "allowed roots, so the files server does not read it. Start the server with "
                    "--allow-hard-links if these links are yours."
                )
            os.set_blocking(fd, True)  # reads of a regular file then behave as usual
            yield fd
        finally:
            os.close(fd)

    @contextmanager
    def open_dir(self, real: Path) -> Iterator[int | None]:
        """Open a resolved directory (``None`` where the OS has no ``dir_fd`` operations), checked.

        List it as ``os.listdir(fd)`` and look at entries with :meth:`lstat`: what the descriptor
        shows is the directory that was checked, even if a link takes its name meanwhile.

        Raises:
            PathPolicyError: The directory became a link or moved out of the roots after the check,
                or is not a directory.
        """
        if not _DIR_FD:
            self._check_real(os.path.realpath(real), os.fspath(real))
            yield None
            return
        fd = self._open_nofollow(real, os.O_RDONLY | _DIRECTORY)
        try:
            self._verify_fd(fd, os.fspath(real))
            mode = os.fstat(fd).st_mode
            if not stat.S_ISDIR(mode):  # where there is no O_DIRECTORY to refuse it
                raise PathPolicyError(f"{self.display(real)!r} is a {_kind(mode)}, not a directory.")
            yield fd
        finally:
            os.close(fd)

    def walk(self, top: Path) -> Iterator[tuple[Path, list[str], list[str], int | None]]:
        """Walk the resolved directory ``top`` top-down through checked descriptors, following no link.

        Yields ``(folder, dirs, files, dir_fd)`` like :func:`os.fwalk`, with ``folder`` a real path;
        sort or prune ``dirs`` in place. ``dirs`` can name links to directories (never entered);
        ``files`` holds every other entry, links and special files included. ``dir_fd`` is
        ``folder`` opened, for :meth:`lstat` and :meth:`open_file`; it is ``None`` where the OS has
        no ``dir_fd`` operations, and the walk then goes by path (:func:`os.walk`).
        """
        with self.open_dir(top) as top_fd:
            if top_fd is None:
                for folder, dirs, files in os.walk(top):
                    yield Path(folder), dirs, files, None
                return
            # fwalk opens each subdirectory relative to its parent's descriptor and enters it only
            # if it is the very directory the listing saw, so a link swapped in is not followed.
            for folder, dirs, files, fd in os.fwalk(dir_fd=top_fd):
                here = top / folder
                try:
                    self._verify_fd(fd, os.fspath(here))
                except PathPolicyError:  # moved out of the roots while the walk ran
                    dirs.clear()
                    continue
                yield here, dirs, files, fd

    def write_atomic(self, parent: Path, name: str, data: bytes, *, mode: int | None = None) -> None:
        """Write ``data`` to ``parent/name`` through a temporary file and ``os.replace``.

        ``parent`` comes from :meth:`resolve_new`. The directory is opened and checked first, the
        temporary file is created with ``O_EXCL | O_NOFOLLOW`` in it, and the rename replaces
        whatever is at ``name`` (a planted symlink included) instead of writing through it.
        """
        tmp = f".{name[:200]}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        if mode is None:
            try:
                current = os.stat(parent / name, follow_symlinks=False)
            except OSError:
                current = None
            mode = stat.S_IMODE(current.st_mode) if current and stat.S_ISREG(current.st_mode) else None
        with self.open_dir(parent) as dir_fd:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
            tmp_path = tmp if dir_fd is not None else os.fspath(parent / tmp)
            fd = os.open(tmp_path, flags, 0o666, dir_fd=dir_fd)
            try:
                with os.fdopen(fd, "wb") as handle:
                    if mode is not None and hasattr(os, "fchmod"):
                        os.fchmod(handle.fileno(), mode)
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                target = name if dir_fd is not None else os.fspath(parent / name)
                os.replace(tmp_path, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                try:
                    os.unlink(tmp_path, dir_fd=dir_fd)
                except OSError:
                    pass
                raise

    def make_dirs(self, path: str) -> Path:
        """Create the directory ``path`` and any missing parents, one checked level at a time.

        Raises:
            PathPolicyError: The path is malformed, leads outside the roots, or names a file.
        """
        candidate = self.absolute(path)
        missing: list[str] = []
        existing = candidate
        while not os.path.lexists(existing):
            existing, name = os.path.split(existing)
            missing.append(name)
        current = Path(self._check_real(os.path.realpath(existing), path))
        if not current.is_dir():
            raise PathPolicyError(f"{self.display(current)!r} is a file, not a directory; pick another path.")
        for name in reversed(missing):
            with self.open_dir(current) as dir_fd:
                os.mkdir(name if dir_fd is not None else current / name, dir_fd=dir_fd)
            current = current / name
        return current

    def rename(self, source: Path, parent: Path, name: str) -> None:
        """Rename the resolved ``source`` to ``parent/name`` with both directories opened and checked."""
        with self.open_dir(source.parent) as src_fd, self.open_dir(parent) as dst_fd:
            if src_fd is None or dst_fd is None:
                os.replace(source, parent / name)
            else:
                os.replace(source.name, name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
