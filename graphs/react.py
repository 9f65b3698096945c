"""The ReAct pattern: the model reasons and calls tools in a loop until it answers
(``mcploom.graphs._loop``), or, with ``samples`` above 1, self-consistency: that many sampled
loops vote on the answer (``mcploom.graphs.self_consistency``).

Example:
    >>> from mcploom.graphs.react import build_react_graph
    >>> graph = build_react_graph(model=chat_model, tools=[calculate])  # doctest: +SKIP
    >>> graph.invoke({"messages": [("user", "What is 6 * 7?")]})["messages"][-1].content  # doctest: +SKIP
    '42'
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from mcploom.graphs._loop import ANSWER_NODE, LIMIT_NOTE, REJECTED_NOTE, ReActState, build_react_loop, route_after_agent
from mcploom.graphs.self_consistency import build_self_consistency_graph

__all__ = ["ANSWER_NODE", "LIMIT_NOTE", "REJECTED_NOTE", "ReActState", "build_react_graph", "route_after_agent"]


def build_react_graph(
    *,
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    system_prompt: str | None = None,
    max_iterations: int = 8,
    samples: int = 1,
    temperature: float = 0.7,
    approval: Collection[str] = (),
    checkpointer: BaseCheckpointSaver | None = None,
    name: str = "react",
) -> CompiledStateGraph:
    """Compile the ReAct pattern over ``model`` and ``tools``.

    Args:
        model: Any LangChain chat model that supports ``bind_tools``.
        tools: The tools the model may call.
        system_prompt: Prepended to every model call (not stored in the state).
        max_iterations: Most model calls per loop; the last one gets no tools, so it answers.
        samples: Above 1, that many sampled loops vote on the answer (self-consistency: more
            model calls, steadier short answers); 1 is one plain loop.
        temperature: The samples' sampling temperature (unused when ``samples`` is 1).
        approval: Names of tools whose calls wait for a person's decision (needs a checkpointer).
        checkpointer: Persists threads (pass ``thread_id`` in the run config).
        name: The compiled graph's name (shown in traces and as a subgraph).

    Raises:
        ValueError: ``max_iterations`` or ``samples`` is below 1, or ``temperature`` is not above 0
            with several samples.
    """
    if samples == 1:
        return build_react_loop(
            model=model,
            tools=tools,
            system_prompt=system_prompt,
            max_iterations=max_iterations,
            approval=approval,
            checkpointer=checkpointer,
            name=name,
        )
    return build_self_consistency_graph(
        model=model,
        tools=tools,
        samples=samples,
        temperature=temperature,
        system_prompt=system_prompt,
        max_iterations=max_iterations,
        approval=approval,
        checkpointer=checkpointer,
        name=name,
    )
