"""The ReAct pattern: the model reasons and calls tools in a loop until it answers.

```
            +-----------+   tool calls    +---------+
 START ---> |   agent   | --------------> |  tools  |
            +-----------+ <-------------- +---------+
                  | answer (or limit)       observations
                  v
                 END
```

The agent node calls the model with the tools bound; the tools node runs every requested call
(in parallel when there are several) and feeds results and errors back as observations. After
``max_iterations`` model calls the model is asked once more, without tools, to answer with what
it has, so a run always ends with an answer.

Example:
    >>> from graphs.react import build_react_graph
    >>> graph = build_react_graph(model=chat_model, tools=[calculate])  # doctest: +SKIP
    >>> graph.invoke({"messages": [("user", "What is 6 * 7?")]})["messages"][-1].content  # doctest: +SKIP
    '42'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode

from graphs._nodes import as_router, node

__all__ = ["LIMIT_NOTE", "ReActState", "build_react_graph", "route_after_agent"]

LIMIT_NOTE = "You have used all your tool calls. Answer the user now with what you already know."
"""Told to the model on its last, tool-less turn when ``max_iterations`` is reached."""


class ReActState(TypedDict):
    """State of a ReAct run."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation: user turns, model turns, tool results."""
    iterations: int
    """Model calls made in this run so far."""


def route_after_agent(state: ReActState) -> Literal["tools", "__end__"]:
    """Go to the tools node while the last model turn asks for tools; otherwise finish."""
    last = state["messages"][-1]
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else END


def build_react_graph(
    *,
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    system_prompt: str | None = None,
    max_iterations: int = 8,
    checkpointer: BaseCheckpointSaver | None = None,
    name: str = "react",
) -> CompiledStateGraph:
    """Compile a ReAct graph over ``model`` and ``tools``.

    Args:
        model: Any LangChain chat model that supports ``bind_tools``.
        tools: The tools the model may call.
        system_prompt: Prepended to every model call (not stored in the state).
        max_iterations: Most model calls per run; the last one gets no tools, so it answers.
        checkpointer: Persists threads (pass ``thread_id`` in the run config).
        name: The compiled graph's name (shown in traces and as a subgraph).

    Raises:
        ValueError: ``max_iterations`` is below 1.
    """
    if max_iterations < 1:
        raise ValueError(f"max_iterations must be at least 1, got {max_iterations}.")
    with_tools = model.bind_tools(list(tools)) if tools else model
    prefix = [SystemMessage(system_prompt)] if system_prompt else []

    def prepare(state: ReActState) -> tuple[Any, list[AnyMessage], dict[str, Any]]:
        # A new user turn starts a new run, so a resumed thread gets its full budget again.
        used = 0 if isinstance(state["messages"][-1], HumanMessage) else state.get("iterations", 0)
        if used + 1 >= max_iterations and tools:
            return model, [*prefix, *state["messages"], SystemMessage(LIMIT_NOTE)], {"iterations": used + 1}
        return with_tools, [*prefix, *state["messages"]], {"iterations": used + 1}

    def agent(state: ReActState) -> dict[str, Any]:
        runnable, messages, update = prepare(state)
        return {**update, "messages": [runnable.invoke(messages)]}

    async def aagent(state: ReActState) -> dict[str, Any]:
        runnable, messages, update = prepare(state)
        return {**update, "messages": [await runnable.ainvoke(messages)]}

    graph = StateGraph(ReActState)
    graph.add_node("agent", node(agent, aagent, "agent"))
    graph.add_node("tools", ToolNode(list(tools), handle_tool_errors=True))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", as_router(route_after_agent))
    graph.add_edge("tools", "agent")
    return graph.compile(checkpointer=checkpointer, name=name)
