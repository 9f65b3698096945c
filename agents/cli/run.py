"""The ``run`` and ``resume`` commands: ask an agent one question, or continue a paused thread.

Both take the same agent options: a named agent from a config file (``--agent``/``--config``),
or a model, MCP servers and pattern given directly; options given on the command line win over
the file. A run that reaches a tool call needing approval asks at the terminal when there is one;
otherwise it prints the thread id and exits with code 3, and ``mcploom resume`` continues it later.
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from mcploom.agents.cli.console import err, out, user_errors
from mcploom.agents.cli.render import EventPrinter, ask_decisions
from mcploom.agents.errors import ConfigError
from mcploom.agents.parameters import PARAMETERS, Parameter, check_setting

if TYPE_CHECKING:
    from mcploom.agents.agent import Agent
    from mcploom.agents.events import AgentEvent, PendingCall

__all__ = ["PAUSED_EXIT_CODE", "register"]

PAUSED_EXIT_CODE = 3
"""Exit code of a run that waits for approval and could not ask (no terminal)."""

_OWN_OPTIONS: dict[str, tuple[Any, Any]] = {
    "agent": (
        Annotated[str | None, typer.Option("--agent", "-a", help="A named agent from the config file (see --config).")],
        None,
    ),
    "config": (
        Annotated[
            Path | None,
            typer.Option(
                "--config",
                envvar="MCPLOOM_CONFIG",
                help="mcploom's TOML config file, with \\[models], \\[mcpServers] and \\[agents] tables "
                "(default: ./mcploom.toml, else config.toml in the data folder, when there is one).",
            ),
        ],
        None,
    ),
    "quiet": (Annotated[bool, typer.Option("--quiet", "-q", help="Print only the answer.")], False),
}
"""The options ``run`` and ``resume`` add to the agent's settings."""


def _setting_option(parameter: Parameter) -> tuple[Any, Any]:
    """A Typer option, as (annotation, default), for an ``Agent`` setting the command line offers."""
    help_text = escape(parameter.cli_help or parameter.help)  # "[...]" in a help text is not a Rich style
    if parameter.cli_type is bool:
        return Annotated[bool, typer.Option(*parameter.flags, help=help_text)], False
    option = typer.Option(*parameter.flags, help=help_text, envvar=parameter.env, show_default=False)
    return Annotated[parameter.cli_type | None, option], None


AGENT_OPTIONS = {
    **{name: _setting_option(parameter) for name, parameter in PARAMETERS.items() if parameter.flags},
    **_OWN_OPTIONS,
}
"""The options ``run`` and ``resume`` share, as (annotation, default) by parameter name: the agent
settings that declare ``flags`` (``mcploom.agents.parameters``), then the command line's own."""


def _with_agent_options(command: Callable[..., None]) -> Callable[..., None]:
    """Declare :data:`AGENT_OPTIONS` on ``command``, which receives them as ``**options``.

    Typer reads a command's options from its signature, so the shared ones are written into it
    once here instead of into each command's parameter list.
    """
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        for name, (annotation, default) in AGENT_OPTIONS.items()
    ]
    command.__signature__ = signature.replace(parameters=[*own, *shared])  # type: ignore[attr-defined]
    return command


def _agent(options: dict[str, Any]) -> Agent:
    """The ``Agent`` the options describe: a config file's agent, with options given here on top."""
    from mcploom.agents.agent import Agent
    from mcploom.agents.config.settings import default_config_path, load_agent_settings
    from mcploom.agents.elicitation import terminal_handler
    from mcploom.mcp_servers import default_servers

    settings: dict[str, Any] = {}
    if options["agent"] is not None or options["config"] is not None or default_config_path().is_file():
        settings.update(load_agent_settings(options["agent"], options["config"]))
    for name, parameter in PARAMETERS.items():
        value = options.get(name)
        if parameter.flags and value is not None and value is not False:  # False: a flag not given
            flag = max(parameter.flags, key=len)
            settings[name] = check_setting(name, str(value) if isinstance(value, Path) else value, flag)
    settings.setdefault("model", "local")
    settings.setdefault("servers", default_servers())
    # A server that asks the user for input mid-call is answered at the terminal, when there is one.
    asking = terminal_handler(_ask_line, _tell) if sys.stdin.isatty() else None
    return Agent(**settings, elicitation=asking)


def _drive(agent: Agent, events: Iterator[AgentEvent], printer: EventPrinter) -> None:
    """Print ``events``; at an approval request ask at the terminal and go on, or exit with code 3."""
    from mcploom.agents.events import ApprovalRequest

    while True:
        request = None
        for event in events:
            printer.show(event)
            if isinstance(event, ApprovalRequest):
                request = event
        if request is None:
            return
        if not sys.stdin.isatty():
            err.print(
                "The run waits for approval. Continue it, with the same agent options, with:\n"
                f"  mcploom resume {request.thread_id} --approve   (or --reject, or --edit '<new arguments as JSON>')",
                markup=False,
                highlight=False,
            )
            raise typer.Exit(PAUSED_EXIT_CODE)
        decisions = _ask_at_terminal(request.calls)
        events = agent.stream_resume(request.thread_id, decisions)


def _ask_at_terminal(calls: list[PendingCall]) -> dict[str, dict[str, Any]]:
    return ask_decisions(calls, _ask_line)


def _ask_line(question: str) -> str:
    # markup=False: "[y]es" is a choice, not a Rich style (with markup it printed as "es").
    return err.input(question, markup=False)


def _tell(line: str) -> None:
    err.print(line, style="yellow", markup=False, highlight=False)


def _decision(approve: bool, reject: bool, reason: str | None, edit: str | None) -> Any:
    """The decision the resume flags say, or ``None`` when they say none."""
    if approve + reject + (edit is not None) > 1:
        raise ConfigError("Choose one of --approve, --reject and --edit.")
    if approve:
        return "approve"
    if reject:
        return {"action": "reject", **({"reason": reason} if reason else {})}
    if edit is None:
        return None
    try:
        args = json.loads(edit)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"--edit wants the call's new arguments as a JSON object; {edit!r} is not JSON ({exc})."
        ) from None
    if not isinstance(args, dict):
        raise ConfigError(f'--edit wants a JSON object such as \'{{"path": "notes.txt"}}\', got {edit!r}.')
    return {"action": "edit", "args": args}


@_with_agent_options
def run(
    question: Annotated[str, typer.Argument(help="What to ask the agent.")],
    thread: Annotated[str | None, typer.Option("--thread", "-t", help="Continue this thread.")] = None,
    **options: Any,
) -> None:
    """Ask one question; stream the answer and show tool calls, plans, critiques and handoffs."""
    with user_errors(), _agent(options) as built:
        printer = EventPrinter(out, err, answer_node=built.answer_node, quiet=options["quiet"])
        _drive(built, built.stream(question, thread_id=thread), printer)


@_with_agent_options
def resume(
    thread: Annotated[str, typer.Argument(help="The thread to continue (printed when its run paused).")],
    approve: Annotated[bool, typer.Option("--approve", help="Approve every waiting tool call.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject every waiting tool call.")] = False,
    reason: Annotated[str | None, typer.Option(help="With --reject: why (told to the model).")] = None,
    edit: Annotated[
        str | None, typer.Option(help="Run the waiting call with these arguments instead (a JSON object).")
    ] = None,
    **options: Any,
) -> None:
    """Continue a thread: decide on tool calls it waits for, or finish a run that was cut off."""
    with user_errors():
        decision = _decision(approve, reject, reason, edit)
        with _agent(options) as built:
            printer = EventPrinter(out, err, answer_node=built.answer_node, quiet=options["quiet"])
            pending = built.pending(thread)
            if decision is None and pending and sys.stdin.isatty():
                decision = _ask_at_terminal(pending)
            elif edit is not None and len(pending) > 1:
                raise ConfigError(
                    f"--edit gives one call new arguments, but {len(pending)} calls wait; "
                    "resume at a terminal to decide on each."
                )
            _drive(built, built.stream_resume(thread, decision), printer)


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``resume`` to the main app."""
    app.command()(run)
    app.command()(resume)
