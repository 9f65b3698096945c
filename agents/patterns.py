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
from collections.abc import Callable, Collection, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from mcploom.agents.errors import ConfigError
from mcploom.graphs.types import PATTERNS

if TYPE_CHECKING:  # the graphs, and langgraph with them, load when a pattern is built
    from langchain_core.language_models import BaseChatModel
    from langchain_core.tools import BaseTool
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.graph.state import CompiledStateGraph

__all__ = ["answer_node", "build_pattern_graph", "check_options", "check_pattern", "graph_arguments", "resolve_workers"]

SET_BY_AGENT = frozenset(
    {"model", "tools", "workers", "system_prompt", "max_iterations", "approval", "checkpointer", "name"}
)
"""Factory arguments the ``Agent`` fills in itself; every other keyword argument is an option."""


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
    server_tools: Mapping[str, Sequence[str]] | None = None,
    **agent_arguments: Any,
) -> dict[str, Any]:
    """The keyword arguments of ``pattern``'s factory: the agent's own, then ``options``.

    Args:
        options: The pattern's options (the factory's keyword arguments the agent does not set).
        workers: Worker specs, for a factory that takes ``workers`` (supervisor).
        tools: The agent's tools; ``None`` while they are not known yet (at construction), which
            checks everything but the workers' tool selections.
        server_tools: Each MCP server's tool names, for workers that name servers and for the
            default team (one worker per server).
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
            arguments["workers"] = resolve_workers(workers, tools, server_tools or {})
        else:
            arguments["tools"] = tools
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
    server_tools: Mapping[str, Sequence[str]] | None = None,
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
        server_tools=server_tools,
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
    server_tools: Mapping[str, Sequence[str]],
) -> list[Any]:
    """The supervisor's team as ``mcploom.graphs.supervisor.Worker`` objects.

    Each spec is ``{"description": str, "system_prompt": str, "tools": [globs], "servers": [names]}``
    (only ``description`` is required), as ``Agent`` checked it (``mcploom.agents.parameters``). A worker gets the tools whose names match one of its
    ``tools`` globs plus every tool of its ``servers``; with neither, all tools. Without specs the
    team is one worker per MCP server (its tools), plus ``assistant`` for tools from Python.

    Raises:
        ConfigError: A worker's selectors match no tool, or name a server that is not configured.
    """
    from mcploom.graphs.supervisor import Worker

    if specs is None:
        return _default_team(tools, server_tools, Worker)
    team = []
    for name, spec in specs.items():
        chosen = _select(name, spec, tools, server_tools)
        prompt = spec.get("system_prompt") or (
            f"You are the {name}: {spec['description']} Use your tools, then reply with what you found."
        )
        team.append(Worker(name, spec["description"], prompt, chosen))
    return team


def _select(
    worker: str, spec: Mapping[str, Any], tools: Sequence[BaseTool], server_tools: Mapping[str, Sequence[str]]
) -> list[BaseTool]:
    globs, servers = list(spec.get("tools", [])), list(spec.get("servers", []))
    if not globs and not servers:
        return list(tools)
    for server in servers:
        if server not in server_tools:
            raise ConfigError(
                f"Worker {worker!r} names server {server!r}, which is not configured; "
                f"servers: {', '.join(server_tools) or '(none)'}."
            )
    names = {name for server in servers for name in server_tools[server]}
    for pattern in globs:
        matched = fnmatch.filter([t.name for t in tools], pattern)
        if not matched:
            raise ConfigError(
                f"Worker {worker!r}: tool pattern {pattern!r} matches no tool; "
                f"tools: {', '.join(t.name for t in tools) or '(none)'}."
            )
        names.update(matched)
    return [t for t in tools if t.name in names]


def _default_team(tools: Sequence[BaseTool], server_tools: Mapping[str, Sequence[str]], worker: type) -> list[Any]:
    team = []
    served: set[str] = set()
    for server, names in server_tools.items():
        own = [t for t in tools if t.name in set(names)]
        if not own:
            continue
        served.update(names)
        listing = ", ".join(t.name for t in own)
        team.append(
            worker(
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
            worker(
                "assistant",
                f"A general assistant (tools: {listing}).",
                "You are a helpful assistant. Do the task, using your tools when they help.",
                rest,
            )
        )
    return team
