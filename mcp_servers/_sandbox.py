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
  so a symlink swapped in after the check is refused instead of followed. Writes go to a
  temporary file created (``O_EXCL``) in a directory opened and checked the same way, and
  ``os.replace`` renames it over the target: a rename replaces a symlink planted at the target,
  it never writes through it.
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
_DIR_FD = os.open in os.supports_dir_fd and os.rename in os.supports_dir_fd  # os.replace shares rename's dir_fd support


class PathPolicyError(ValueError):
    """A path was refused: it is malformed or leads outside the allowed roots."""


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


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

    Raises:
        PathPolicyError: No root was given, or one is not an existing directory.

    Example:
        >>> import tempfile
        >>> sandbox = Sandbox([tempfile.mkdtemp()])
        >>> sandbox.resolve("notes/../../etc/passwd")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        mcp_servers._sandbox.PathPolicyError: Path 'notes/../../etc/passwd' contains '..'
    """

    def __init__(self, roots: Sequence[str | os.PathLike[str]]) -> None:
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

    def _open_nofollow(self, real: Path, flags: int) -> int:
        """``os.open`` that refuses (rather than follows) a last component swapped for a link."""
        try:
            return os.open(real, flags | _NOFOLLOW | _CLOEXEC)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK) and os.path.islink(real):
                raise PathPolicyError(
                    f"{self.display(real)!r} became a symbolic link after it was checked; refused."
                ) from None
            raise

    @contextmanager
    def open_file(self, real: Path) -> Iterator[int]:
        """Open a resolved file for reading without following a link, and check where it landed."""
        fd = self._open_nofollow(real, os.O_RDONLY)
        try:
            self._verify_fd(fd, os.fspath(real))
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise PathPolicyError(f"{self.display(real)!r} is not a regular file.")
            yield fd
        finally:
            os.close(fd)

    @contextmanager
    def open_dir(self, real: Path) -> Iterator[int | None]:
        """Open a resolved directory (``None`` where the OS has no ``dir_fd`` operations), checked."""
        if not _DIR_FD:
            self._check_real(os.path.realpath(real), os.fspath(real))
            yield None
            return
        fd = self._open_nofollow(real, os.O_RDONLY | _DIRECTORY)
        try:
            self._verify_fd(fd, os.fspath(real))
            yield fd
        finally:
            os.close(fd)

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
