"""``mcploom serve`` and ``mcploom claude-config``: run one of our MCP servers, or wire them into Claude Desktop.

The lead's ``agents/cli.py`` calls :func:`register` on the ``mcploom`` Typer app.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Annotated

import typer

from mcploom.agents.claude_config import build_servers, config_path, merge_into_file, parse_server_args
from mcploom.agents.errors import ConfigError
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
    if name is None or name in ("-h", "--help"):
        typer.echo(ctx.get_help())
        raise typer.Exit(0 if name else 2)
    if name not in SERVER_NAMES:
        raise typer.BadParameter(f"unknown server {name!r}. Known servers: {', '.join(SERVER_NAMES)}.")
    importlib.import_module(f"mcploom.mcp_servers.{name}").main(list(ctx.args))


def claude_config(
    servers: Annotated[
        str, typer.Option("--servers", "-s", help="Comma-separated servers to include, e.g. utility,files,sql.")
    ] = "utility",
    write: Annotated[
        bool, typer.Option("--write", help="Merge into the config file (a timestamped backup is kept).")
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file to merge into (default: Claude Desktop's for this OS).")
    ] = None,
    files_root: Annotated[
        list[Path] | None, typer.Option("--files-root", help="Directory the files server may use (repeatable).")
    ] = None,
    files_read_only: Annotated[
        bool, typer.Option("--files-read-only", help="Give the files server no write tools.")
    ] = False,
    sql_db: Annotated[Path | None, typer.Option("--sql-db", help="SQLite file for the sql server.")] = None,
    agent_model: Annotated[
        str | None, typer.Option("--agent-model", help="Model spec the agent server runs (default: local).")
    ] = None,
    server_args: Annotated[
        list[str] | None,
        typer.Option("--server-args", help="More arguments for one server, as NAME:ARGS (repeatable)."),
    ] = None,
) -> None:
    """Print (or --write) the Claude Desktop `mcpServers` entries for mcploom's servers.

    \b
    $ mcploom claude-config --servers utility,files --files-root ~/notes
    $ mcploom claude-config --servers utility,sql --sql-db ./shop.db --write
    $ mcploom claude-config --servers agent --agent-model local --write
    """
    names = [name.strip() for name in servers.split(",") if name.strip()]
    try:
        entries = build_servers(
            names,
            files_roots=files_root or [],
            files_read_only=files_read_only,
            sql_db=sql_db,
            agent_model=agent_model,
            extra_args=parse_server_args(server_args or []),
        )
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    if not write:
        typer.echo(json.dumps({"mcpServers": entries}, indent=2))
        return
    target = config if config is not None else Path(config_path())
    try:
        result = merge_into_file(target, entries)
    except ConfigError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    kept = f" Backup of the previous file: {result.backup}." if result.backup else ""
    typer.echo(
        f"Wrote {len(entries)} server(s) to {result.path} (added: {', '.join(result.added) or '-'}; "
        f"replaced: {', '.join(result.replaced) or '-'}).{kept} Restart Claude Desktop to load them."
    )


def register(app: typer.Typer) -> None:
    """Add the ``serve`` and ``claude-config`` commands to ``app``."""
    app.command(
        "serve",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,  # `serve NAME --help` reaches the server's own parser
    )(serve)
    app.command("claude-config")(claude_config)
