"""``mcploom serve`` and ``mcploom claude-config``: run one of our MCP servers, or wire them into Claude Desktop.

Both pass a server its arguments as its own command line reads them (each server module's
``COMMAND``), so ``mcploom serve files ~/notes --read-only`` and ``mcploom claude-config "files
~/notes --read-only"`` take the same words.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mcploom.agents.cli.console import fail, out, user_errors
from mcploom.mcp_servers import SERVER_NAMES

__all__ = ["register"]


def serve(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help=f"Server to run: {', '.join(SERVER_NAMES)}.")] = None,
) -> None:
    """Run an mcploom MCP server (stdio; --http --port N for streamable HTTP).

    Arguments after NAME go to the server: `mcploom serve files ~/notes --read-only`;
    `mcploom serve files --help` shows the server's own options.
    """
    from mcploom.mcp_servers import command

    if name is None or name in ("-h", "--help"):
        typer.echo(ctx.get_help())
        raise typer.Exit(0 if name else 2)
    try:
        server = command(name)
    except KeyError as exc:
        fail(f"At serve NAME: {exc.args[0]}")
    server.main(list(ctx.args))


def claude_config(
    servers: Annotated[
        list[str] | None,
        typer.Argument(
            help="Servers to include, each as NAME or as 'NAME ARGS...' in one quoted word, with the "
            f"arguments `mcploom serve NAME` takes (servers: {', '.join(SERVER_NAMES)}; default: utility).",
            show_default=False,
        ),
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Merge into the config file (a timestamped backup is kept).")
    ] = False,
    desktop_config: Annotated[
        Path | None,
        typer.Option(
            "--desktop-config", help="Claude Desktop's config file to merge into (default: the one for this OS)."
        ),
    ] = None,
) -> None:
    """Print (or --write) the Claude Desktop `mcpServers` entries for mcploom's servers.

    \b
    $ mcploom claude-config utility "files ~/notes --read-only"
    $ mcploom claude-config utility "sql ./shop.db" --write
    $ mcploom claude-config "agent --model local" --write
    """
    from mcploom.agents.config.claude_desktop import build_servers, config_path, merge_into_file
    from mcploom.mcp_servers._serve import split_server

    with user_errors():
        entries = build_servers([split_server(text) for text in servers or ["utility"]])
        if not write:
            out.print(json.dumps({"mcpServers": entries}, indent=2), markup=False, highlight=False)
            return
        result = merge_into_file(desktop_config if desktop_config is not None else Path(config_path()), entries)
    kept = f" Backup of the previous file: {result.backup}." if result.backup else ""
    out.print(
        f"Wrote {len(entries)} server(s) to {result.path} (added: {', '.join(result.added) or '-'}; "
        f"replaced: {', '.join(result.replaced) or '-'}).{kept} Restart Claude Desktop to load them.",
        markup=False,
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add the ``serve`` and ``claude-config`` commands to ``app``."""
    app.command(
        "serve",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,  # `serve NAME --help` reaches the server's own parser
    )(serve)
    app.command("claude-config")(claude_config)
