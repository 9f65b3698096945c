"""The ``mcploom`` Typer app: one module per command group, registered here.

Heavy libraries load inside the commands, so ``mcploom --help`` stays fast.
"""

from __future__ import annotations

import typer

from mcploom.agents.cli import models, rag, run, serve

__all__ = ["app", "main"]

app = typer.Typer(
    name="mcploom",
    no_args_is_help=True,
    rich_markup_mode="rich",
    help="""Agents over MCP tool servers and hybrid RAG, on local GGUF models or frontier APIs.

\b
Examples:
  mcploom run "What is 1234 * 5678? Use the calculator."
  mcploom run -m anthropic:claude-sonnet-4-5 --mcp-config claude_desktop_config.json "..."
  mcploom run -p plan_execute "Compute 17 * 23, then add 100 to the result."
  mcploom run --agent team --config mcploom.toml "..."
  mcploom resume <thread> --approve
  mcploom ingest ~/notes && mcploom search "how do I rotate the keys?"
  mcploom models list
  mcploom claude-config utility "files ~/notes --read-only" --write
""",
)
app.add_typer(models.app, name="models")
run.register(app)
rag.register(app)
serve.register(app)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
