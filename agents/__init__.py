"""The composition root: model specs, MCP client sessions, the ``Agent`` API and the ``mcploom`` CLI.

Example:
    >>> from agents import Agent  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.agent import Agent, RunResult

__all__ = ["Agent", "RunResult"]


def __getattr__(name: str) -> Any:
    # Lazy, so `mcploom --help` and the MCP servers do not pay for langgraph at start-up.
    if name in __all__:
        from agents import agent

        return getattr(agent, name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")
