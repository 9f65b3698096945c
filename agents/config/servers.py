"""MCP server configuration in Claude Desktop's ``mcpServers`` shape, validated into typed objects.

A user's existing ``claude_desktop_config.json`` works unchanged::

    {"mcpServers": {
        "utility": {"command": "python", "args": ["-m", "mcploom.mcp_servers.utility"], "env": {"TZ": "UTC"}},
        "search":  {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ..."}}
    }}

An entry with ``command`` starts a subprocess and speaks MCP over its stdin/stdout; an entry with
``url`` speaks streamable HTTP, falling back to the legacy HTTP+SSE transport when the server
refuses streamable HTTP's first POST (as the MCP specification's backwards-compatibility section
says clients do); ``"type": "sse"`` goes to SSE straight away. A bare mapping of name to entry (without the ``mcpServers`` key) is
accepted too, so TOML tables or Python dicts of the same shape load the same way.

Like Claude Desktop, nothing is expanded: ``~``, ``$HOME`` or ``${VAR}`` in ``command``, ``args``,
``env`` or ``url`` reach the server exactly as written, so write absolute paths. The server process
inherits only ``HOME``, ``LOGNAME``, ``PATH``, ``SHELL``, ``TERM`` and ``USER`` (the MCP SDK's safe
set) plus the entry's ``env``.

Beyond Claude Desktop's keys, an entry may carry ``cwd`` (stdio working directory), ``restarts``
(how many times mcploom starts a stdio server again when its process dies mid-session; default 0)
and ``type`` (``"stdio"``, ``"sse"``, or ``"http"`` / ``"streamable-http"`` as Claude Code and VS Code write it). Other keys
that other clients add (``disabled``, ``autoApprove``, ...) are ignored with a warning.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeAlias

from mcploom.agents.errors import ConfigError
from mcploom.agents.types import Transport

__all__ = ["HttpServer", "ServerConfig", "StdioServer", "load_servers", "read_config_text"]

logger = logging.getLogger(__name__)

_STDIO_KEYS = frozenset({"command", "args", "env", "cwd", "restarts", "type"})
_MAX_RESTARTS = 100
_HTTP_KEYS = frozenset({"url", "headers", "type"})
_TYPE_ALIASES: Mapping[str, Transport] = {
    "stdio": "stdio",
    "http": "streamable-http",
    "streamable-http": "streamable-http",
    "streamableHttp": "streamable-http",
    "sse": "sse",
}


@dataclass(frozen=True)
class StdioServer:
    """An MCP server mcploom starts as a subprocess and talks to over stdin/stdout.

    Attributes:
        name: The server's key in ``mcpServers``; also the tool-name prefix on collisions.
        command: The executable, looked up on ``PATH`` when it has no directory part.
        args: Its command-line arguments.
        env: Extra environment variables, set over the inherited safe set.
        cwd: Working directory for the process (default: the current one).
        restarts: How many times the server is started again when its process dies while a
            toolkit holds it (0: never). The call that was running fails either way: it may have
            had effects, so it is for the model or user to repeat it.
    """

    name: str
    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    cwd: str | None = None
    restarts: int = 0

    transport: Transport = field(default="stdio", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))

    @property
    def command_line(self) -> str:
        """The command and its arguments as one shell-quoted line, for messages and logs."""
        return shlex.join([self.command, *self.args])

    def to_entry(self) -> dict[str, Any]:
        """This server as an ``mcpServers`` entry (the inverse of :func:`load_servers`)."""
        entry: dict[str, Any] = {"command": self.command, "args": list(self.args)}
        if self.env:
            entry["env"] = dict(self.env)
        if self.cwd is not None:
            entry["cwd"] = self.cwd
        if self.restarts:
            entry["restarts"] = self.restarts
        return entry


@dataclass(frozen=True)
class HttpServer:
    """An MCP server mcploom reaches over HTTP.

    Attributes:
        name: The server's key in ``mcpServers``; also the tool-name prefix on collisions.
        url: The MCP endpoint, e.g. ``http://127.0.0.1:8000/mcp`` (an SSE server's is often ``.../sse``).
        headers: HTTP headers sent with every request (e.g. ``Authorization``).
        transport: ``"streamable-http"`` (falls back to SSE when the server refuses it) or ``"sse"``.
    """

    name: str
    url: str
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    transport: Transport = "streamable-http"

    def __post_init__(self) -> None:
        if self.transport not in ("streamable-http", "sse"):
            raise ValueError(f"An HTTP server's transport is 'streamable-http' or 'sse', not {self.transport!r}.")
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))

    def to_entry(self) -> dict[str, Any]:
        """This server as an ``mcpServers`` entry (the inverse of :func:`load_servers`)."""
        entry: dict[str, Any] = {"url": self.url}
        if self.transport == "sse":
            entry["type"] = "sse"
        if self.headers:
            entry["headers"] = dict(self.headers)
        return entry


ServerConfig: TypeAlias = StdioServer | HttpServer
"""One validated ``mcpServers`` entry."""


def load_servers(source: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, ServerConfig]:
    """Validate MCP server entries in Claude Desktop's ``mcpServers`` shape.

    Args:
        source: A path to a JSON file such as ``claude_desktop_config.json``; a mapping with an
            ``mcpServers`` key (other top-level keys are ignored); or a bare mapping of server name
            to entry. Entries may already be :class:`StdioServer` / :class:`HttpServer` objects.

    Returns:
        The servers by name, in the order given.

    Raises:
        ConfigError: The file cannot be read or is not valid JSON, or an entry is invalid; the
            message says where (``At mcpServers.<name>: ...``), what, and how to fix it.

    Example:
        >>> servers = load_servers({"mcpServers": {"calc": {"command": "python", "args": ["-m", "calc"]}}})
        >>> servers["calc"].command_line
        'python -m calc'
        >>> load_servers({"web": {"url": "https://example.com/mcp"}})["web"].transport
        'streamable-http'
    """
    if isinstance(source, str | os.PathLike):
        data: Any = _read_json(Path(source))
        where = f"{os.fspath(source)}: "
    else:
        data, where = source, ""
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"At {where.removesuffix(': ') or 'the top level'}: expected an object of MCP servers, "
            f"got {_kind(data)}. "
            'Write {"mcpServers": {"<name>": {"command": ...} or {"url": ...}}}.'
        )
    servers = data["mcpServers"] if "mcpServers" in data else data
    if not isinstance(servers, Mapping):
        raise ConfigError(
            f"At {where}mcpServers: expected an object mapping server names to entries, "
            f"got {_kind(servers)}. "
            'Write "mcpServers": {"<name>": {"command": ...}}.'
        )
    return {name: _server(name, entry, where) for name, entry in servers.items()}


def read_config_text(path: Path, what: str, encoding_fix: str = "Save it as UTF-8.") -> str:
    """The UTF-8 text of a config file; ``ConfigError`` naming ``what`` it is when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"At {path}: cannot read the {what}: {exc.strerror or exc}. Check the path and permissions."
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"At {path}: the file is not UTF-8 text ({exc.reason}). {encoding_fix}") from None


def _read_json(path: Path) -> Any:
    text = read_config_text(path, "MCP server config", "Save it as UTF-8 JSON.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"At {path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}. "
            "Fix the syntax there (JSON allows no comments or trailing commas)."
        ) from None


def _server(name: Any, entry: Any, where: str) -> ServerConfig:
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"At {where}mcpServers: server name {name!r} is not a non-empty string. Rename it.")
    at = f"At {where}mcpServers.{name}"
    if isinstance(entry, StdioServer | HttpServer):
        if entry.name != name:
            raise ConfigError(f"{at}: the entry is named {entry.name!r}. Give it the name {name!r} or move it.")
        return entry
    if not isinstance(entry, Mapping):
        raise ConfigError(
            f'{at}: expected an object with "command" (stdio) or "url" (HTTP), got {_kind(entry)}. '
            'Write {"command": "...", "args": [...]} or {"url": "https://..."}.'
        )
    kind = _declared_type(entry, at)
    if "command" in entry and "url" in entry:
        raise ConfigError(
            f'{at}: both "command" and "url" are given. Keep "command" for a local server (stdio) '
            'or "url" for a remote one (HTTP), not both.'
        )
    if "url" in entry:
        if kind == "stdio":
            raise ConfigError(f'{at}: "type" is "stdio" but the entry has a "url". Use "type": "http".')
        _warn_unknown(entry, _HTTP_KEYS, at)
        return HttpServer(
            name=name,
            url=_url(entry["url"], at),
            headers=_strings(entry, "headers", at),
            transport=kind or "streamable-http",
        )
    if "command" in entry:
        if kind in ("streamable-http", "sse"):
            raise ConfigError(f'{at}: "type" is "{entry["type"]}" but the entry has no "url". Add the server\'s URL.')
        _warn_unknown(entry, _STDIO_KEYS, at)
        command = entry["command"]
        if not isinstance(command, str) or not command.strip():
            raise ConfigError(
                f"{at}.command: expected the executable as a non-empty string, got {command!r}. "
                'Put the program in "command" and its arguments in "args".'
            )
        cwd = entry.get("cwd")
        if cwd is not None and not isinstance(cwd, str):
            raise ConfigError(f"{at}.cwd: expected a directory path string, got {_kind(cwd)}. Quote the path.")
        return StdioServer(
            name=name,
            command=command,
            args=_args(entry.get("args", []), at),
            env=_strings(entry, "env", at),
            cwd=cwd,
            restarts=_restarts(entry.get("restarts", 0), at),
        )
    raise ConfigError(
        f'{at}: the entry has neither "command" nor "url". Add "command" (and "args") to start a local '
        'server over stdio, or "url" to reach one over HTTP.'
    )


def _declared_type(entry: Mapping[str, Any], at: str) -> Transport | None:
    if "type" not in entry:
        return None
    declared = entry["type"]
    if declared not in _TYPE_ALIASES:
        raise ConfigError(f'{at}.type: unknown transport {declared!r}. Use "stdio", "http" or "sse" (or leave it out).')
    return _TYPE_ALIASES[declared]


def _url(url: Any, at: str) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"{at}.url: expected an http:// or https:// URL, got {url!r}. "
            "Write the server's MCP endpoint, e.g. http://127.0.0.1:8000/mcp."
        )
    return url


def _args(args: Any, at: str) -> tuple[str, ...]:
    if not isinstance(args, list | tuple):
        raise ConfigError(
            f'{at}.args: expected a list of strings, got {_kind(args)}. Write "args": ["--flag", "value"].'
        )
    for index, arg in enumerate(args):
        if not isinstance(arg, str):
            raise ConfigError(f"{at}.args[{index}]: expected a string, got {arg!r}. Quote it: {json.dumps(str(arg))}.")
    return tuple(args)


def _restarts(value: Any, at: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_RESTARTS:
        raise ConfigError(
            f"{at}.restarts: expected a whole number from 0 to {_MAX_RESTARTS}, got {_kind(value)}. "
            'Write "restarts": 3 to start the server again up to three times when it dies.'
        )
    return value


def _strings(entry: Mapping[str, Any], key: str, at: str) -> Mapping[str, str]:
    value = entry.get(key)
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise ConfigError(
            f'{at}.{key}: expected an object of string values, got {_kind(value)}. Write "{key}": {{"NAME": "value"}}.'
        )
    for item_key, item in value.items():
        if not isinstance(item, str):
            raise ConfigError(
                f"{at}.{key}.{item_key}: expected a string, got {item!r}. Quote it: {json.dumps(str(item))}."
            )
    return MappingProxyType(dict(value))


def _warn_unknown(entry: Mapping[str, Any], known: frozenset[str], at: str) -> None:
    unknown = sorted(str(key) for key in entry if key not in known)
    if unknown:
        logger.warning("%s: ignoring keys mcploom does not use: %s", at, ", ".join(unknown))


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    for python_type, label in names.items():
        if isinstance(value, python_type):
            return f"{label} ({value!r})" if python_type is str else label
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
