"""mcploom: LangGraph agent patterns over MCP tool servers and hybrid RAG, on local GGUF models or frontier APIs.

The front door is :class:`Agent`; the layers are subpackages: ``mcploom.agents`` (the Agent API,
CLI and config readers), ``mcploom.graphs`` (the patterns), ``mcploom.mcp_servers`` (our MCP
servers, ``python -m mcploom.mcp_servers.<name>``), ``mcploom.rag`` (hybrid retrieval) and
``mcploom.local_models`` (GGUF chat models).

Example:
    >>> from mcploom import Agent
    >>> from mcploom.mcp_servers import default_servers  # the utility server: calculator, clock
    >>> with Agent(model="local", servers=default_servers()) as agent:  # doctest: +SKIP
    ...     print(agent.run("What is 1234 * 5678? Use the calculator.").answer)
    7006652
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcploom.agents.agent import Agent, RunResult

__all__ = ["Agent", "RunResult"]


def __getattr__(name: str) -> Any:
    # Lazy, so `mcploom --help` and the MCP servers do not pay for langgraph at start-up.
    if name in __all__:
        from mcploom.agents import agent

        return getattr(agent, name)
    raise AttributeError(f"module 'mcploom' has no attribute {name!r}")
