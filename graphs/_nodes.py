"""Node and router wrappers every graph uses: sync and async bodies, no extra trace layer.

``RunnableLambda`` opens a second traced run inside the node's own and inspects the function
signature on every call; LangGraph wraps a plain sync router so each async routing decision
hops to a worker thread. Measured on a ReAct round with one MCP call: 1.079x the time of
``langchain.agents.create_agent`` with those, 0.930x with these (benchmarks/README.md).

The wrapper that avoids both is LangGraph's own ``RunnableCallable`` (what its prebuilt agents
use), which lives in a private module. A LangGraph release that moves it does not break mcploom:
the graphs fall back to the public ``RunnableLambda`` (correct, a little slower), and
``tests/graphs/test_nodes.py`` fails with a message that says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda

try:
    from langgraph._internal._runnable import RunnableCallable
except ImportError:  # pragma: no cover - exercised by tests/graphs/test_nodes.py with a monkeypatch
    RunnableCallable = None

__all__ = ["as_router", "node"]


def node(func: Callable[..., Any], afunc: Callable[..., Awaitable[Any]], name: str) -> Runnable:
    """A graph node with a sync body for ``invoke`` and an async one for ``ainvoke``."""
    if RunnableCallable is None:
        return RunnableLambda(func, afunc, name=name)
    return RunnableCallable(func, afunc, name=name, trace=False)


def as_router(func: Callable[..., Any]) -> Callable[..., Any] | Runnable:
    """A routing function that runs inline on both the sync and the async path."""
    if RunnableCallable is None:
        return func  # LangGraph wraps it itself
    return RunnableCallable(func, trace=False)
