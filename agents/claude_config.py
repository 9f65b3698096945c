"""Claude Desktop config: the ``mcpServers`` entries for mcploom's servers, and a safe merge into the user's file.

Entries use an absolute interpreter path (``sys.executable``: Claude Desktop starts servers
without the user's shell ``PATH``) and absolute data paths (its working directory is not the
user's). The merge keeps every other server and setting, writes a timestamped backup first, and
replaces the file atomically.

Example:
    >>> entry = server_entry("utility", python="/opt/venv/bin/python")
    >>> entry["command"], entry["args"]
    ('/opt/venv/bin/python', ['-m', 'mcploom.mcp_servers.utility'])
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any

from mcploom.agents.errors import ConfigError
from mcploom.agents.models import ModelSpec
from mcploom.mcp_servers import SERVER_NAMES

__all__ = [
    "ENTRY_PREFIX",
    "MergeResult",
    "build_servers",
    "config_path",
    "merge_into_file",
    "parse_server_args",
    "server_entry",
]

ENTRY_PREFIX = "mcploom-"
"""Entries are named ``mcploom-<server>`` so they never clash with the user's own servers."""

CONFIG_NAME = "claude_desktop_config.json"


def config_path(
    platform: str | None = None, env: Mapping[str, str] | None = None, home: PurePath | None = None
) -> PurePath:
    """Where Claude Desktop reads its config on ``platform`` (default: this machine).

    macOS: ``~/Library/Application Support/Claude``; Windows: ``%APPDATA%\\Claude``;
    Linux: ``$XDG_CONFIG_HOME/Claude`` (default ``~/.config/Claude``).

    Example:
        >>> str(config_path("win32", {"APPDATA": "C:\\\\Users\\\\ada\\\\AppData\\\\Roaming"}))
        'C:\\\\Users\\\\ada\\\\AppData\\\\Roaming\\\\Claude\\\\claude_desktop_config.json'
    """
    platform = platform or sys.platform
    env = os.environ if env is None else env
    if platform == "win32":
        windows_home = PureWindowsPath(home) if home is not None else PureWindowsPath(Path.home())
        appdata = env.get("APPDATA")
        base = PureWindowsPath(appdata) if appdata else windows_home / "AppData" / "Roaming"
        return _native(base / "Claude" / CONFIG_NAME)
    posix_home = PurePosixPath(home) if home is not None else PurePosixPath(Path.home())
    if platform == "darwin":
        return _native(posix_home / "Library" / "Application Support" / "Claude" / CONFIG_NAME)
    base = PurePosixPath(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else posix_home / ".config"
    return _native(base / "Claude" / CONFIG_NAME)


def _native(path: PurePath) -> PurePath:
    """A concrete ``Path`` when ``path`` is in this OS's flavour, so it can be opened."""
    return Path(path) if isinstance(path, type(PurePath())) else path


def _absolute(arg: str) -> str:
    """Make a path-looking argument absolute: it contains a separator or starts with '~' or '.'."""
    if arg.startswith("-") or not (os.sep in arg or "/" in arg or arg.startswith(("~", "."))):
        return arg
    return os.path.abspath(os.path.expanduser(arg))


def _project_root() -> Path | None:
    """The checkout holding ``mcp_servers`` when it is not installed in site-packages, else ``None``."""
    from mcploom import mcp_servers

    root = Path(mcp_servers.__file__).resolve().parent.parent
    installed = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    return None if root in installed else root


def server_entry(name: str, args: Sequence[str] = (), *, python: str | None = None) -> dict[str, Any]:
    """One ``mcpServers`` entry that starts ``python -m mcp_servers.<name> [args]``.

    Args:
        name: A server in ``mcp_servers.SERVER_NAMES``.
        args: Its command-line arguments; path-looking ones are made absolute.
        python: Interpreter to run (default ``sys.executable``, made absolute, links kept so a
            virtual environment stays selected).

    Raises:
        ConfigError: ``name`` is not one of our servers.
    """
    if name not in SERVER_NAMES:
        raise ConfigError(f"At --servers: unknown server {name!r}. Known servers: {', '.join(SERVER_NAMES)}.")
    entry: dict[str, Any] = {
        "command": os.path.abspath(python or sys.executable),
        "args": ["-m", f"mcploom.mcp_servers.{name}", *(_absolute(arg) for arg in args)],
    }
    root = _project_root()
    if root is not None:
        entry["env"] = {"PYTHONPATH": str(root)}
    return entry


def parse_server_args(values: Sequence[str]) -> dict[str, list[str]]:
    """Read ``NAME:ARGS`` options (``"rag:--data-dir ~/notes"``) into ``{name: [args...]}``.

    Raises:
        ConfigError: A value has no ``NAME:`` prefix.
    """
    parsed: dict[str, list[str]] = {}
    for value in values:
        name, sep, rest = value.partition(":")
        if not sep or not name:
            raise ConfigError(f"At --server-args: {value!r} is not NAME:ARGS. Write it like 'rag:--data-dir ~/notes'.")
        parsed.setdefault(name.strip(), []).extend(shlex.split(rest))
    return parsed


def build_servers(
    names: Sequence[str],
    *,
    files_roots: Sequence[str | os.PathLike[str]] = (),
    files_read_only: bool = False,
    sql_db: str | os.PathLike[str] | None = None,
    agent_model: str | None = None,
    extra_args: Mapping[str, Sequence[str]] | None = None,
    python: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The ``mcpServers`` mapping for ``names``, keyed ``mcploom-<name>``.

    ``agent_model`` is the model spec the ``agent`` server runs (default: its own, ``local``);
    its other options (``--mcp-config PATH``) go through ``extra_args``.

    Raises:
        ConfigError: An unknown server, ``files`` without a root, ``sql`` without an existing
            database, a data path that does not exist, or a malformed ``agent_model``.
    """
    if agent_model is not None and "agent" not in names:
        raise ConfigError("At --agent-model: the agent server is not in --servers; add it there or drop the option.")
    extra = dict(extra_args or {})
    servers: dict[str, dict[str, Any]] = {}
    for name in names:
        args: list[str] = []
        if name == "files":
            if not files_roots:
                raise ConfigError("At --servers files: no directory given. Pass --files-root DIR (repeatable).")
            for root in files_roots:
                absolute = Path(root).expanduser().resolve()
                if not absolute.is_dir():
                    raise ConfigError(f"At --files-root: {os.fspath(root)!r} is not an existing directory.")
                args.append(str(absolute))
            if files_read_only:
                args.append("--read-only")
        elif name == "sql":
            if sql_db is None:
                raise ConfigError("At --servers sql: no database given. Pass --sql-db PATH to an existing SQLite file.")
            absolute = Path(sql_db).expanduser().resolve()
            if not absolute.is_file():
                raise ConfigError(f"At --sql-db: no file at {os.fspath(sql_db)!r}. The sql server never creates one.")
            args.append(str(absolute))
        elif name == "agent" and agent_model is not None:
            args += ["--model", str(ModelSpec.parse(agent_model))]
        servers[ENTRY_PREFIX + name] = server_entry(name, [*args, *extra.pop(name, [])], python=python)
    if extra:
        raise ConfigError(f"At --server-args: {', '.join(sorted(extra))} not in --servers; add it there or drop it.")
    return servers


@dataclass
class MergeResult:
    """What :func:`merge_into_file` did."""

    path: Path
    backup: Path | None
    """Copy of the previous file, or ``None`` if there was no file."""
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)


def merge_into_file(path: str | os.PathLike[str], servers: Mapping[str, Mapping[str, Any]]) -> MergeResult:
    """Merge ``servers`` into the ``mcpServers`` of the config at ``path``, keeping everything else.

    A timestamped backup (``claude_desktop_config.json.20260301T093000.bak``) is written first;
    the new file replaces the old one atomically (temporary file + ``os.replace``).

    Raises:
        ConfigError: The existing file is not a JSON object with an object ``mcpServers``;
            nothing is changed then.
    """
    target = Path(path).expanduser()
    data: dict[str, Any] = {}
    backup: Path | None = None
    if target.exists():
        text = target.read_text(encoding="utf-8")
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"At {target}: not valid JSON (line {exc.lineno}: {exc.msg}). Fix or move it; nothing was changed."
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("mcpServers", {}), dict):
            raise ConfigError(f"At {target}: expected a JSON object with an object 'mcpServers'; nothing was changed.")
        backup = _backup_path(target)
        shutil.copy2(target, backup)
    existing: dict[str, Any] = dict(data.get("mcpServers", {}))
    result = MergeResult(path=target, backup=backup)
    for name, entry in servers.items():
        (result.replaced if name in existing else result.added).append(name)
        existing[name] = dict(entry)
    data["mcpServers"] = existing
    _write_atomic(target, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return result


def _backup_path(target: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    candidate = target.with_name(f"{target.name}.{stamp}.bak")
    counter = 1
    while candidate.exists():
        candidate = target.with_name(f"{target.name}.{stamp}-{counter}.bak")
        counter += 1
    return candidate


def _write_atomic(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
