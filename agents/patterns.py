"""Which graph an ``Agent`` runs: a pattern by name, its options, the supervisor's team.

The patterns are ``mcploom.graphs.types.Pattern``; each is the module ``mcploom.graphs.<pattern>``
with the contract that module's docstring states (``build_<pattern>_graph``, ``ANSWER_NODE``,
``max_iterations`` for the inner loops), so this module holds no per-pattern table.

:func:`graph_arguments` is the one place that turns ``Agent(pattern=..., options=..., workers=...)``
into a factory's keyword arguments: construction checks options with it (before any server
starts) and :func:`build_pattern_graph` calls the factory with what it returns, so the options a
user may pass are exactly the keyword arguments that factory takes.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from mcploom.agents.errors import ConfigError
from mcploom.graphs.types import PATTERNS

if TYPE_CHECKING:  # the graphs, and langgraph with them, load when a pattern is built
    from langchain_core.language_models import BaseChatModel
    from langchain_core.tools import BaseTool
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.graph.state import CompiledStateGraph

    from mcploom.agents.mcp_client import ServerInfo

__all__ = [
    "answer_node",
    "build_pattern_graph",
    "check_options",
    "check_pattern",
    "graph_arguments",
    "resolve_workers",
    "with_server_instructions",
]

SET_BY_AGENT = frozenset(
    {"model", "tools", "workers", "system_prompt", "max_iterations", "approval", "checkpointer", "name"}
)
"""Factory arguments the ``Agent`` fills in itself; every other keyword argument is an option."""

MAX_INSTRUCTIONS_CHARS = 3000
"""The most characters of one MCP server's instructions a system prompt carries."""


def with_server_instructions(system_prompt: str, servers: Iterable[ServerInfo]) -> str:
    """``system_prompt`` followed by each server's MCP ``instructions`` (what a server says about
    how to use it: the sql server names its tables and columns there), as MCP clients pass them on."""
    notes = [
        f"- {info.name}: {info.instructions.strip()[:MAX_INSTRUCTIONS_CHARS]}"
        for info in servers
        if info.instructions and info.instructions.strip()
    ]
    if not notes:
        return system_prompt
    section = "The tool servers say about themselves:\n" + "\n".join(notes)
    return f"{system_prompt}\n\n{section}" if system_prompt else section


def check_pattern(pattern: str) -> None:
    """Raise ``ConfigError`` unless ``pattern`` is one of the patterns."""
    if pattern not in PATTERNS:
        raise ConfigError(f"Unknown pattern {pattern!r}; choose one of: {', '.join(PATTERNS)}.")


def _module(pattern: str) -> ModuleType:
    check_pattern(pattern)
    return importlib.import_module(f"mcploom.graphs.{pattern}")


def _factory(pattern: str) -> Callable[..., CompiledStateGraph]:
    return getattr(_module(pattern), f"build_{pattern}_graph")


def answer_node(pattern: str) -> str:
    """The node of ``pattern``'s graph that writes the final answer (its tokens are the answer)."""
    return _module(pattern).ANSWER_NODE


def graph_arguments(
    pattern: str,
    options: Mapping[str, Any] | None,
    workers: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    tools: Sequence[BaseTool] | None = None,
    servers: Mapping[str, ServerInfo] | None = None,
    **agent_arguments: Any,
) -> dict[str, Any]:
    """The keyword arguments of ``pattern``'s factory: the agent's own, then ``options``.

    Args:
        options: The pattern's options (the factory's keyword arguments the agent does not set).
        workers: Worker specs, for a factory that takes ``workers`` (supervisor).
        tools: The agent's tools; ``None`` while they are not known yet (at construction), which
            checks everything but the workers' tool selections.
        servers: The connected MCP servers: their tool names, for workers that name servers and
            for the default team (one worker per server), and their instructions, which go to the
            model calls that use their tools (every worker's, or the single agent's).
        agent_arguments: What the agent sets: model, system_prompt, max_iterations, approval, checkpointer.

    Raises:
        ConfigError: An unknown pattern or option, workers for a pattern that takes none, or
            workers whose selectors match no tool.
    """
    parameters = inspect.signature(_factory(pattern)).parameters
    if workers is not None and "workers" not in parameters:
        raise ConfigError(f"workers are for the supervisor pattern; pattern {pattern!r} does not use them.")
    allowed = sorted(name for name in parameters if name not in SET_BY_AGENT)
    for name in options or {}:
        if name not in allowed:
            raise ConfigError(f"Unknown option {name!r} for pattern {pattern!r}; it takes: {', '.join(allowed)}.")
    arguments = {**agent_arguments, **(options or {})}
    if tools is not None:
        if "workers" in parameters:
            arguments["workers"] = resolve_workers(workers, tools, servers or {})
        else:
            arguments["tools"] = tools
            arguments["system_prompt"] = with_server_instructions(
                arguments.get("system_prompt") or "", (servers or {}).values()
            )
    return arguments


def check_options(pattern: str, options: Mapping[str, Any] | None, workers: Mapping[str, Any] | None = None) -> None:
    """Raise ``ConfigError`` for an unknown pattern, an option ``pattern``'s factory does not take,
    or ``workers`` for a pattern that takes none (values are checked when the graph is built)."""
    graph_arguments(pattern, options, workers)


def build_pattern_graph(
    pattern: str,
    *,
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    system_prompt: str | None,
    max_iterations: int,
    approval: Collection[str],
    checkpointer: BaseCheckpointSaver | None,
    options: Mapping[str, Any] | None = None,
    workers: Mapping[str, Mapping[str, Any]] | None = None,
    servers: Mapping[str, ServerInfo] | None = None,
) -> CompiledStateGraph:
    """Compile ``pattern``'s graph with :func:`graph_arguments`.

    Raises:
        ConfigError: What :func:`graph_arguments` raises, or an option value the pattern refuses.
    """
    arguments = graph_arguments(
        pattern,
        options,
        workers,
        tools=tools,
        servers=servers,
        model=model,
        system_prompt=system_prompt,
        max_iterations=max_iterations,
        approval=approval,
        checkpointer=checkpointer,
    )
    try:
        return _factory(pattern)(**arguments)
    except ValueError as exc:  # the factories check their settings (limits, worker names)
        raise ConfigError(f"Pattern {pattern!r}: {exc}") from exc


def resolve_workers(
    specs: Mapping[str, Mapping[str, Any]] | None,
    tools: Sequence[BaseTool],
    servers: Mapping[str, ServerInfo],
) -> list[Any]:
    """The supervisor's team as ``mcploom.graphs.supervisor.Worker`` objects.

    Each spec is ``{"description": str, "system_prompt": str, "tools": [globs], "servers": [names]}``
    (only ``description`` is required), as ``Agent`` checked it (``mcploom.agents.parameters``). A
    worker gets the tools whose names match one of its ``tools`` globs plus every tool of its
    ``servers``; with neither, all tools. Without specs the team is one worker per MCP server (its
    tools), plus ``assistant`` for tools from Python. Each worker's prompt carries the instructions
    of the servers its tools come from; the supervisor's does not, since it calls no tool (a 0.5B
    supervisor given them copied a server's instructions out as its handoff).

    Raises:
        ConfigError: A worker's selectors match no tool, or name a server that is not configured.
    """
    from mcploom.graphs.supervisor import Worker

    team = []
    for name, description, prompt, chosen in (
        _default_team(tools, servers) if specs is None else _chosen(specs, tools, servers)
    ):
        names = {t.name for t in chosen}
        used = [info for info in servers.values() if names & set(info.tool_names)]
        team.append(Worker(name, description, with_server_instructions(prompt, used), chosen))
    return team


Member = tuple[str, str, str, list["BaseTool"]]
"""A worker before its servers' instructions are added: name, description, prompt, tools."""


def _chosen(
    specs: Mapping[str, Mapping[str, Any]], tools: Sequence[BaseTool], servers: Mapping[str, ServerInfo]
) -> list[Member]:
    return [
        (
            name,
            spec["description"],
            spec.get("system_prompt")
            or f"You are the {name}: {spec['description']} Use your tools, then reply with what you found.",
            _select(name, spec, tools, servers),
        )
        for name, spec in specs.items()
    ]


def _select(
    worker: str, spec: Mapping[str, Any], tools: Sequence[BaseTool], servers: Mapping[str, ServerInfo]
) -> list[BaseTool]:
    globs, named = list(spec.get("tools", [])), list(spec.get("servers", []))
    if not globs and not named:
        return list(tools)
    for server in named:
        if server not in servers:
            raise ConfigError(
                f"Worker {worker!r} names server {server!r}, which is not configured; "
                f"servers: {', '.join(servers) or '(none)'}."
            )
    names = {name for server in named for name in servers[server].tool_names}
    for pattern in globs:
        matched = fnmatch.filter([t.name for t in tools], pattern)
        if not matched:
            raise ConfigError(
                f"Worker {worker!r}: tool pattern {pattern!r} matches no tool; "
                f"tools: {', '.join(t.name for t in tools) or '(none)'}."
            )
        names.update(matched)
    return [t for t in tools if t.name in names]


def _default_team(tools: Sequence[BaseTool], servers: Mapping[str, ServerInfo]) -> list[Member]:
    team: list[Member] = []
    served: set[str] = set()
    for server, info in servers.items():
        own = [t for t in tools if t.name in set(info.tool_names)]
        if not own:
            continue
        served.update(info.tool_names)
        listing = ", ".join(t.name for t in own)
        team.append(
            (
                server,
                f"Has the {server} tools: {listing}.",
                f"You are the {server} worker. Use your tools ({listing}) to do the task, then reply with the result.",
                own,
            )
        )
    rest = [t for t in tools if t.name not in served]
    if rest or not team:
        listing = ", ".join(t.name for t in rest) or "none"
        team.append(
            (
                "assistant",
                f"A general assistant (tools: {listing}).",
                "You are a helpful assistant. Do the task, using your tools when they help.",
                rest,
            )
        )
    return team
