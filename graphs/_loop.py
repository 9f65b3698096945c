"""The ReAct loop: the model reasons and calls tools until it answers. It is the ``react``
pattern (``mcploom.graphs.react``, which adds self-consistency over it) and the inner agent of
every other pattern (plan steps, fact checks, workers, debaters, samples).

```
            +-----------+   tool calls    +---------+
 START ---> |   agent   | --------------> |  tools  |
            +-----------+ <-------------- +---------+
              |       |     observations       ^
              |       | calls that need        | approved (or edited) calls
              |       v approval         +-----------+
              |       +----------------> |  approve  |  interrupt(): waits for a person
              v answer (or limit)        +-----------+
             END
```

The agent node calls the model with the tools bound; the tools node runs every requested call
(in parallel when there are several) and feeds results and errors back as observations. After
``max_iterations`` model calls the model is asked once more, without tools, to answer with what
it has, so a run always ends with an answer.

Calls of tools named in ``approval`` first stop at the approve node: it pauses the run with one
``interrupt()`` listing every call of that turn that needs approval (``mcploom.graphs.types.ApprovalInterrupt``),
and the run continues when resumed with ``Command(resume=...)``: one ``CallDecision`` for all of them,
or a mapping of tool-call id to decision. Approved calls run as asked, edited ones with the new
arguments, rejected ones do not run and the model is told why. Nothing of that turn runs before
the decision, so a resumed run never repeats a tool call.

Example:
    >>> from mcploom.graphs._loop import build_react_loop
    >>> graph = build_react_loop(model=chat_model, tools=[calculate])  # doctest: +SKIP
    >>> graph.invoke({"messages": [("user", "What is 6 * 7?")]})["messages"][-1].content  # doctest: +SKIP
    '42'
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Command, Send, interrupt

from mcploom.graphs._nodes import as_router, node
from mcploom.graphs.types import ApprovalInterrupt, CallDecision

__all__ = [
    "ANSWER_NODE",
    "LIMIT_NOTE",
    "REJECTED_NOTE",
    "ReActState",
    "build_react_loop",
    "route_after_agent",
]

ANSWER_NODE = "agent"
"""The node whose last reply is the answer (it also makes the tool calls)."""

LIMIT_NOTE = "You have used all your tool calls. Answer the user now with what you already know."
"""Told to the model on its last, tool-less turn when ``max_iterations`` is reached."""


REJECTED_NOTE = "The user did not approve this call of {name}, so it did not run.{reason} Do not call it again."
"""The observation a rejected tool call gets in place of a result."""


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


def build_react_loop(
    *,
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    system_prompt: str | None = None,
    max_iterations: int = 8,
    approval: Collection[str] = (),
    checkpointer: BaseCheckpointSaver | None = None,
    name: str = "react",
) -> CompiledStateGraph:
    """Compile a ReAct loop over ``model`` and ``tools``.

    Args:
        model: Any LangChain chat model that supports ``bind_tools``.
        tools: The tools the model may call.
        system_prompt: Prepended to every model call (not stored in the state).
        max_iterations: Most model calls per run; the last one gets no tools, so it answers.
        approval: Names of tools whose calls wait for a person's decision (needs a checkpointer).
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
    graph.add_edge("tools", "agent")
    gated = frozenset(approval) & {t.name for t in tools}
    if not gated:
        graph.add_conditional_edges("agent", as_router(route_after_agent))
        return graph.compile(checkpointer=checkpointer, name=name)

    def route(state: ReActState) -> Literal["tools", "approve", "__end__"]:
        target = route_after_agent(state)
        calls = state["messages"][-1].tool_calls if target == "tools" else []
        return "approve" if any(call["name"] in gated for call in calls) else target

    def approve(state: ReActState) -> Command:
        turn = state["messages"][-1]
        pending = [call for call in turn.tool_calls if call["name"] in gated]
        answer = interrupt(ApprovalInterrupt(kind="approval", calls=pending))
        return _apply_decisions(turn, {call["id"] for call in pending}, answer)

    async def aapprove(state: ReActState) -> Command:
        return approve(state)

    graph.add_node("approve", node(approve, aapprove, "approve"), destinations=("tools", "agent"))
    graph.add_conditional_edges("agent", as_router(route), ["tools", "approve", END])
    return graph.compile(checkpointer=checkpointer, name=name)


def _apply_decisions(turn: AIMessage, pending: set[str], answer: CallDecision | Mapping[str, CallDecision]) -> Command:
    """Run the approved and edited calls of ``turn``; answer the rejected ones with :data:`REJECTED_NOTE`.

    ``answer`` is one decision for every pending call or a mapping by call id; a pending call the
    mapping leaves out counts as rejected, so nothing runs without a yes.
    """
    decisions: Mapping[str, CallDecision] = (
        {call_id: answer for call_id in pending} if "action" in answer else answer  # type: ignore[dict-item]
    )
    calls: list[ToolCall] = []
    run: list[ToolCall] = []
    refused: list[ToolMessage] = []
    for call in turn.tool_calls:
        decision = decisions.get(call["id"], {"action": "reject"}) if call["id"] in pending else {"action": "approve"}
        action = decision.get("action")
        if action == "edit":
            call = {**call, "args": dict(decision.get("args", call["args"]))}
        elif action == "reject":
            reason = f" Their reason: {decision['reason']}." if decision.get("reason") else ""
            note = REJECTED_NOTE.format(name=call["name"], reason=reason)
            refused.append(ToolMessage(note, tool_call_id=call["id"], name=call["name"], status="error"))
        elif action != "approve":
            raise ValueError(f"Unknown decision {action!r} for tool call {call['id']}; use approve, edit or reject.")
        calls.append(call)
        if action != "reject":
            run.append(call)
    # The turn is rewritten (same id, so it replaces the original) to show the arguments that ran.
    update = {"messages": [turn.model_copy(update={"tool_calls": calls}), *refused]}
    return Command(update=update, goto=[Send("tools", run)] if run else "agent")
