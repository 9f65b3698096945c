"""Which graph an ``Agent`` runs: the four patterns by name, their options, the supervisor's team.

``build_pattern_graph`` is the one place that turns ``Agent(pattern=..., options=..., workers=...)``
into a call of a ``graphs`` factory, so the options a user may pass are exactly the keyword
arguments that factory takes (checked here, with the allowed names in the error).

ReAct with ``options={"samples": n}`` (n > 1) runs self-consistency: n sampled ReAct runs and a
majority vote on the answer (``mcploom.graphs.self_consistency``).
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
from collections.abc import Callable, Collection, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, get_args

from mcploom.agents.errors import ConfigError

if TYPE_CHECKING:  # the graphs, and langgraph with them, load when a pattern is built
    from langchain_core.language_models import BaseChatModel
    from langchain_core.tools import BaseTool
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.graph.state import CompiledStateGraph

__all__ = [
    "PATTERNS",
    "Pattern",
    "answer_node",
    "build_pattern_graph",
    "check_options",
    "check_pattern",
    "resolve_workers",
]

Pattern = Literal["react", "plan_execute", "reflection", "supervisor"]
"""The agent patterns:

- ``react``: reason, call tools, observe, repeat (optionally self-consistency: ``samples`` > 1);
- ``plan_execute``: plan steps, run each as a ReAct agent (independent ones in parallel), replan, synthesise;
- ``reflection``: draft, critique against a rubric (the critic may use tools to check facts), revise;
- ``supervisor``: a supervisor routes the task among named worker agents, each with its own tools.
"""

PATTERNS: tuple[str, ...] = get_args(Pattern)

_SET_BY_AGENT = frozenset({"model", "tools", "system_prompt", "approval", "checkpointer", "name", "workers"})
"""Factory arguments the ``Agent`` fills in itself; every other keyword argument is an option."""


_GRAPHS: dict[str, tuple[str, str, str]] = {
    "react": ("mcploom.graphs.react", "build_react_graph", "max_iterations"),
    "self_consistency": ("mcploom.graphs.self_consistency", "build_self_consistency_graph", "max_iterations"),
    "plan_execute": ("mcploom.graphs.plan_execute", "build_plan_execute_graph", "step_iterations"),
    "reflection": ("mcploom.graphs.reflection", "build_reflection_graph", "check_iterations"),
    "supervisor": ("mcploom.graphs.supervisor", "build_supervisor_graph", "worker_iterations"),
}
"""Each graph's module (imported on first use: langgraph stays out of ``mcploom --help``), its
factory, and the factory keyword that receives ``Agent(max_iterations=...)``."""


def _graph(pattern: str, samples: int) -> tuple[ModuleType, Callable[..., CompiledStateGraph], str]:
    """The module, factory and iterations keyword of ``pattern``'s graph (ReAct with samples > 1:
    self-consistency)."""
    module_name, factory, iterations_key = _GRAPHS[
        "self_consistency" if pattern == "react" and samples > 1 else pattern
    ]
    module = importlib.import_module(module_name)
    return module, getattr(module, factory), iterations_key


def check_pattern(pattern: str) -> None:
    """Raise ``ConfigError`` unless ``pattern`` is one of :data:`PATTERNS`."""
    if pattern not in PATTERNS:
        raise ConfigError(f"Unknown pattern {pattern!r}; choose one of: {', '.join(PATTERNS)}.")


def answer_node(pattern: str, samples: int = 1) -> str:
    """The node of ``pattern``'s graph that writes the final answer (its tokens are the answer)."""
    check_pattern(pattern)
    module, _, _ = _graph(pattern, samples)
    return module.ANSWER_NODE


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
    """Compile ``pattern``'s graph; ``options`` are the factory's own keyword arguments.

    Args:
        server_tools: Each MCP server's tool names, for supervisor workers that name servers
            and for the default team (one worker per server).

    Raises:
        ConfigError: Unknown pattern or option, an option value the pattern refuses, or workers
            given for a pattern other than supervisor.
    """
    check_options(pattern, options, workers)
    options = dict(options or {})
    _, factory, iterations_key = _graph(pattern, int(options.get("samples", 1)))
    if pattern == "react" and options.get("samples", 1) == 1:
        options.pop("samples", None)  # one sample is plain ReAct
    kwargs: dict[str, Any] = {
        "model": model,
        "system_prompt": system_prompt,
        iterations_key: max_iterations,
        "approval": approval,
        "checkpointer": checkpointer,
        **options,
    }
    if pattern == "supervisor":
        kwargs["workers"] = resolve_workers(workers, tools, server_tools or {})
    else:
        kwargs["tools"] = tools
    try:
        return factory(**kwargs)
    except ValueError as exc:  # the factories check their settings (limits, worker names)
        raise ConfigError(f"Pattern {pattern!r}: {exc}") from exc


def check_options(pattern: str, options: Mapping[str, Any] | None, workers: Mapping[str, Any] | None = None) -> None:
    """Raise ``ConfigError`` for an unknown pattern, an option ``pattern``'s factory does not take,
    or ``workers`` for a pattern other than supervisor (values are checked when the graph is built)."""
    check_pattern(pattern)
    if workers is not None and pattern != "supervisor":
        raise ConfigError(f"workers are for the supervisor pattern; pattern {pattern!r} does not use them.")
    options = options or {}
    _, factory, _ = _graph(pattern, int(options.get("samples", 1)))
    allowed = sorted(name for name in inspect.signature(factory).parameters if name not in _SET_BY_AGENT)
    if pattern == "react":
        allowed = sorted({*allowed, "samples", "temperature"})
    for name in options:
        if name not in allowed:
            raise ConfigError(f"Unknown option {name!r} for pattern {pattern!r}; it takes: {', '.join(allowed)}.")


def resolve_workers(
    specs: Mapping[str, Mapping[str, Any]] | None,
    tools: Sequence[BaseTool],
    server_tools: Mapping[str, Sequence[str]],
) -> list[Any]:
    """The supervisor's team as ``mcploom.graphs.supervisor.Worker`` objects.

    Each spec is ``{"description": str, "system_prompt": str, "tools": [globs], "servers": [names]}``
    (only ``description`` is required). A worker gets the tools whose names match one of its
    ``tools`` globs plus every tool of its ``servers``; with neither, all tools. Without specs the
    team is one worker per MCP server (its tools), plus ``assistant`` for tools from Python.

    Raises:
        ConfigError: A spec with unknown keys, no description, or selectors that match no tool.
    """
    from mcploom.graphs.supervisor import Worker

    if specs is None:
        return _default_team(tools, server_tools, Worker)
    if not specs:
        raise ConfigError("workers is empty; name at least one worker, or leave it out for one worker per server.")
    team = []
    for name, spec in specs.items():
        unknown = set(spec) - {"description", "system_prompt", "tools", "servers"}
        if unknown:
            raise ConfigError(
                f"Worker {name!r} has unknown keys {sorted(unknown)}; use description, system_prompt, tools, servers."
            )
        if not spec.get("description"):
            raise ConfigError(f"Worker {name!r} needs a description: the supervisor routes by it.")
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
