"""Node and router wrappers every graph uses: sync and async bodies, no extra trace layer.

``RunnableLambda`` opens a second traced run inside the node's own and inspects the function
signature on every call; LangGraph wraps a plain sync router so each async routing decision
hops to a worker thread. Measured on a ReAct round with one MCP call: 1.079x the time of
``langchain.agents.create_agent`` with those, 0.930x with these (benchmarks/README.md).
LangGraph's own prebuilt agents use ``RunnableCallable`` the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langgraph._internal._runnable import RunnableCallable

__all__ = ["RunnableCallable", "as_router", "node"]


def node(func: Callable[..., Any], afunc: Callable[..., Awaitable[Any]], name: str) -> RunnableCallable:
    """A graph node with a sync body for ``invoke`` and an async one for ``ainvoke``."""
    return RunnableCallable(func, afunc, name=name, trace=False)


def as_router(func: Callable[..., Any]) -> RunnableCallable:
    """A routing function that runs inline on both the sync and the async path."""
    return RunnableCallable(func, trace=False)
