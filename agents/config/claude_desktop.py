"""Claude Desktop config: the ``mcpServers`` entries for mcploom's servers, and a safe merge into the user's file.

Each entry starts ``python -m mcploom.mcp_servers.<name>`` with an absolute interpreter path
(``sys.executable``: Claude Desktop starts servers without the user's shell ``PATH``), and its
arguments as the server itself reads them (``ServerCommand.entry_args``: checked by the server's
own parser, every path made absolute, since Claude Desktop's working directory is not the
user's). The merge keeps every other server and setting, writes a timestamped backup first, and
replaces the file atomically.

Example:
    >>> build_servers([("utility", [])], python="/opt/venv/bin/python")
    {'mcploom-utility': {'command': '/opt/venv/bin/python', 'args': ['-m', 'mcploom.mcp_servers.utility']}}
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any

from mcploom.agents.errors import ConfigError
from mcploom.mcp_servers import command, server_entry

__all__ = ["ENTRY_PREFIX", "MergeResult", "build_servers", "config_path", "merge_into_file"]

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


def build_servers(
    servers: Sequence[tuple[str, Sequence[str]]], *, python: str | None = None
) -> dict[str, dict[str, Any]]:
    """The ``mcpServers`` mapping for our ``servers`` (name and arguments), keyed ``mcploom-<name>``.

    Raises:
        ConfigError: An unknown server, a server named twice, or arguments its own parser refuses
            (a missing or non-existent path, an unknown option, ``--http``).
    """
    from mcploom.mcp_servers._serve import ArgumentsError

    entries: dict[str, dict[str, Any]] = {}
    for name, args in servers:
        key = ENTRY_PREFIX + name
        if key in entries:
            raise ConfigError(f"At server {name!r}: it is named twice. Give each server once, with all its arguments.")
        try:
            written = command(name).entry_args(args)
        except KeyError as exc:
            raise ConfigError(f"At server {name!r}: {exc.args[0]}") from None
        except ArgumentsError as exc:
            raise ConfigError(f"At server {name!r}: {exc}. See its options with: mcploom serve {name} --help") from None
        entries[key] = server_entry(name, written, python=python)
    return entries


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
