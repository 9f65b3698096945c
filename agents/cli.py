"""The ``mcploom`` command line.

Heavy libraries load inside the commands, so ``mcploom --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from mcploom.agents import cli_rag, cli_run, cli_serve

__all__ = ["app", "main", "user_errors"]

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
  mcploom models list
  mcploom claude-config --servers utility,files --write
""",
)
models_app = typer.Typer(help="List the local model catalog, or pull a GGUF from the Hugging Face hub.")

out = Console()
err = Console(stderr=True)


@models_app.command("list")
def models_list() -> None:
    """Show the catalog: name, size, whether it is installed, and what it is for."""
    from rich.table import Table

    from mcploom.local_models.catalog import CATALOG, DEFAULT_MODEL

    table = Table("name", "installed", "description")
    for name, entry in CATALOG.items():
        installed = all(part.locate() is not None for part in entry.parts)
        label = f"{name} (default)" if name == DEFAULT_MODEL else name
        table.add_row(label, "yes" if installed else f"no: {entry.pip_install}", entry.description)
    out.print(table)


@models_app.command("pull")
def models_pull(
    repo_id: Annotated[str, typer.Argument(help="Hugging Face repository, e.g. Qwen/Qwen2.5-1.5B-Instruct-GGUF.")],
    filename: Annotated[str, typer.Argument(help="The .gguf file in that repository.")],
    name: Annotated[str | None, typer.Option(help="Catalog name to use it by (default: the file name).")] = None,
) -> None:
    """Download a GGUF model from the Hugging Face hub; then use it as local:<name>."""
    from mcploom.local_models.catalog import pull_model

    with user_errors():
        path = pull_model(repo_id, filename, name=name)
    out.print(f"Saved {path}; use it with -m local:{path.stem}")


class user_errors:
    """Turn errors a user can fix into one red line on stderr and exit code 1, not a traceback."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        from mcploom.agents.errors import McploomError
        from mcploom.local_models.errors import ModelLoadError

        if exc is not None and isinstance(exc, McploomError | ModelLoadError):
            err.print("[red]Error:[/red]", end=" ")
            err.print(str(exc), highlight=False, markup=False)  # messages quote TOML tables like [models]
            raise typer.Exit(1)
        return False


app.add_typer(models_app, name="models")
cli_run.register(app)
cli_rag.register(app)
cli_serve.register(app)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
