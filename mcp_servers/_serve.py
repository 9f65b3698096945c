"""Each server's command line, in one object: serving it, and writing it into a client's config.

A server module declares ``COMMAND = ServerCommand(name, description, factory, add_arguments)``
and ``main = COMMAND.main``. The same parser then serves (stdio by default, streamable HTTP with
``--http``) and checks the arguments ``mcploom claude-config`` writes for it:
:meth:`ServerCommand.entry_args` parses them as the server would and writes them back with every
path absolute (Claude Desktop starts servers in a folder of its own), so each server alone knows
its options. Path arguments use the :func:`folder`, :func:`existing_folder` and
:func:`existing_file` types, which make them absolute as they are read.

On stdio the server runs through :func:`mcploom.mcp_servers._stdio.run_stdio`, which serves like
``server.run("stdio")`` but answers a malformed input line with a JSON-RPC error instead of
dropping it (so the client that sent it is not left waiting).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from mcp.server.mcpserver import MCPServer

__all__ = ["ArgumentsError", "ServerCommand", "existing_file", "existing_folder", "folder", "split_server"]

_TRANSPORT_OPTIONS = ("http", "host", "port")
"""Options for serving over HTTP, which a stdio client's config entry never needs."""


class ArgumentsError(ValueError):
    """A server's arguments, as given for a client's config, do not parse; says which and why."""


def folder(text: str) -> Path:
    """An argparse type: a folder path, made absolute (``~`` expanded); it need not exist yet."""
    return Path(os.path.abspath(os.path.expanduser(text)))


def existing_folder(text: str) -> Path:
    """An argparse type: an existing folder, made absolute."""
    path = folder(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is not an existing directory")
    return path


def existing_file(text: str) -> Path:
    """An argparse type: an existing file, made absolute."""
    path = folder(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no file at {text!r}")
    return path


class _Parser(argparse.ArgumentParser):
    """Records the server's actions, so its arguments can be written back; ``raise_errors`` turns
    a parse error into :class:`ArgumentsError` instead of usage text and exit code 2."""

    def __init__(self, *args: Any, raise_errors: bool = False, **kwargs: Any) -> None:
        self.raise_errors = raise_errors
        self.recorded: list[tuple[argparse.Action, str]] = []
        """Each action added, with its kind (``store``, ``store_true``, ``append``, ...)."""
        super().__init__(*args, **kwargs)  # adds --help, so after the attributes

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.recorded.append((action, kwargs.get("action", "store")))
        return action

    def error(self, message: str) -> NoReturn:
        if self.raise_errors:
            raise ArgumentsError(message)
        super().error(message)


@dataclass(frozen=True)
class ServerCommand:
    """One server's command line.

    Attributes:
        name: The module name under ``mcploom.mcp_servers``; ``mcploom serve <name>``.
        description: The ``--help`` text.
        factory: Builds the server from the parsed arguments.
        add_arguments: Adds the server's own options to the parser.
    """

    name: str
    description: str
    factory: Callable[[argparse.Namespace], MCPServer]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None

    def parser(self, *, raise_errors: bool = False) -> _Parser:
        """The server's argument parser (the transport options included)."""
        parser = _Parser(prog=f"mcploom serve {self.name}", description=self.description, raise_errors=raise_errors)
        if self.add_arguments is not None:
            self.add_arguments(parser)
        parser.add_argument("--http", action="store_true", help="Serve streamable HTTP instead of stdio.")
        parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000).")
        parser.add_argument("--log-level", default="WARNING", help="stderr log level (default WARNING).")
        return parser

    def main(self, argv: Sequence[str] | None = None) -> None:
        """Parse the command line, build the server and serve it until stdin closes (or forever on HTTP)."""
        from mcploom.mcp_servers._stdio import EXIT_GRACE_S, run_stdio

        args = self.parser().parse_args(argv)
        # stdout is the MCP wire on stdio: logs must only ever reach stderr.
        logging.basicConfig(
            level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
        )
        server = self.factory(args)
        if args.http:
            server.run("streamable-http", host=args.host, port=args.port)
        else:
            run_stdio(server, exit_grace_s=EXIT_GRACE_S)

    def entry_args(self, argv: Sequence[str]) -> list[str]:
        """``argv`` checked as this server reads it, written back with absolute paths, for a stdio entry.

        Raises:
            ArgumentsError: The arguments do not parse (the message is argparse's, e.g. a missing
                ROOT or a file that does not exist), or they ask for the HTTP transport.

        Example:
            >>> from mcploom.mcp_servers.files import COMMAND
            >>> COMMAND.entry_args(["/tmp", "--read-only"])
            ['/tmp', '--read-only']
        """
        parser = self.parser(raise_errors=True)
        args = parser.parse_args(list(argv))
        if args.http:
            raise ArgumentsError("a client's config entry starts the server on stdio; drop --http, --host and --port")
        written: list[str] = []
        for action, kind in parser.recorded:
            if hasattr(args, action.dest) and action.dest not in _TRANSPORT_OPTIONS:  # not --help
                written += _written(action, kind, getattr(args, action.dest))
        return written


def _written(action: argparse.Action, kind: str, value: Any) -> list[str]:
    """The command-line words that give ``action`` the parsed ``value`` (none for its default)."""
    if not action.option_strings:
        return [str(item) for item in (value if isinstance(value, list) else [value])]
    flag = max(action.option_strings, key=len)
    if kind == "store_true":
        return [flag] if value else []
    if kind == "append":
        return [word for item in value or [] for word in (flag, str(item))]
    if kind != "store":
        raise TypeError(f"ServerCommand cannot write back a {kind!r} option ({flag}); use store, store_true or append")
    return [] if value == action.default else [flag, str(value)]


def split_server(text: str) -> tuple[str, list[str]]:
    """``"files ~/notes --read-only"`` -> ``("files", ["~/notes", "--read-only"])``: a server and its arguments."""
    name, *args = shlex.split(text) or [""]
    return name, args
