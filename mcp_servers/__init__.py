"""mcploom's MCP servers, each runnable as ``python -m mcploom.mcp_servers.<name>`` or ``mcploom serve <name>``.

Every server module offers ``create_server(...) -> MCPServer`` and ``COMMAND``, its command line
(``mcploom.mcp_servers._serve.ServerCommand``: serving it, and checking the arguments a client's
config passes it); they speak stdio by default and streamable HTTP with ``--http``, and write
nothing but protocol to stdout: logs go to stderr.

This package module stays light: the agent side reads how to start a server here (:func:`server_entry`)
without importing any server.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcploom.mcp_servers._serve import ServerCommand

__all__ = ["SERVER_NAMES", "command", "default_servers", "server_entry"]

SERVER_NAMES: tuple[str, ...] = ("utility", "files", "sql", "rag", "agent")
"""Servers shipped with mcploom, by module name under ``mcploom.mcp_servers``."""


def server_entry(name: str, args: Sequence[str] = (), *, python: str | None = None) -> dict[str, Any]:
    """The ``mcpServers`` entry that starts our server ``name`` with ``args`` on stdio.

    Args:
        name: One of :data:`SERVER_NAMES` (not checked here: see :func:`command`).
        args: The server's command-line arguments, as they are.
        python: The interpreter (default: this one, ``sys.executable``, made absolute with its links
            kept so a virtual environment stays selected: a client such as Claude Desktop starts
            servers without the user's shell ``PATH``).

    Example:
        >>> server_entry("utility", python="/opt/venv/bin/python")
        {'command': '/opt/venv/bin/python', 'args': ['-m', 'mcploom.mcp_servers.utility']}
    """
    return {"command": os.path.abspath(python or sys.executable), "args": ["-m", f"mcploom.mcp_servers.{name}", *args]}


def default_servers() -> dict[str, dict[str, Any]]:
    """The tools an agent gets when no servers are given: the utility server (calculator, clock)."""
    return {"utility": server_entry("utility")}


def command(name: str) -> ServerCommand:
    """Server ``name``'s command line (imports its module).

    Raises:
        KeyError: ``name`` is not one of :data:`SERVER_NAMES`; the message lists them.
    """
    if name not in SERVER_NAMES:
        raise KeyError(f"unknown server {name!r}. Known servers: {', '.join(SERVER_NAMES)}.")
    return importlib.import_module(f"mcploom.mcp_servers.{name}").COMMAND
