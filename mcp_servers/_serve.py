"""Command-line runner shared by every mcploom MCP server: stdio by default, or streamable HTTP.

On stdio the server runs through :func:`mcploom.mcp_servers._stdio.run_stdio`, which serves exactly like
``server.run("stdio")`` but answers a malformed input line with a JSON-RPC error instead of
dropping it (so the client that sent it is not left waiting).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from mcp.server.mcpserver import MCPServer

from mcploom.mcp_servers._stdio import run_stdio

__all__ = ["serve_main"]


def _parser(name: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"mcploom serve {name}", description=description)
    parser.add_argument("--http", action="store_true", help="Serve streamable HTTP instead of stdio.")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1).")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000).")
    parser.add_argument("--log-level", default="WARNING", help="stderr log level (default WARNING).")
    return parser


def serve_main(
    name: str,
    factory: Callable[[argparse.Namespace], MCPServer],
    argv: Sequence[str] | None = None,
    *,
    description: str = "",
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> None:
    """Parse the command line, build the server with ``factory(args)`` and serve it.

    Args:
        name: The server's name, shown in ``--help``.
        factory: Builds the server from the parsed arguments.
        argv: Arguments (defaults to ``sys.argv[1:]``).
        description: Help text for ``--help``.
        add_arguments: Adds server-specific options to the parser.
    """
    parser = _parser(name, description)
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    # stdout is the MCP wire on stdio: logs must only ever reach stderr.
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    server = factory(args)
    if args.http:
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        run_stdio(server)
