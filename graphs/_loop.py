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
it has, so a run always ends with an answer. A call whose arguments did not parse (the model's
JSON was cut off or malformed: ``invalid_tool_calls``) gets an observation saying so
(:data:`INVALID_CALL_NOTE`) and the model is asked again, within the same budget. A final reply
that is no answer (empty, a placeholder, a copied tool error, the question said back:
``mcploom.graphs._answer_check``) is sent back to the model once with a note saying so.

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
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Command, Send, interrupt

from mcploom.graphs._answer_check import checked_answer
from mcploom.graphs._nodes import as_router, node
from mcploom.graphs._shared import Exchange, adrive, drive
from mcploom.graphs.types import ApprovalInterrupt, CallDecision

__all__ = [
    "ANSWER_NODE",
    "LIMIT_NOTE",
    "INVALID_CALL_NOTE",
    "REJECTED_NOTE",
    "TOOL_ERROR_NOTE",
    "ReActState",
    "build_react_loop",
    "route_after_agent",
    "with_unreadable_calls_answered",
]

ANSWER_NODE = "agent"
"""The node whose last reply is the answer (it also makes the tool calls)."""

LIMIT_NOTE = "You have used all your tool calls. Answer the user now with what you already know."
"""Told to the model on its last, tool-less turn when ``max_iterations`` is reached."""


REJECTED_NOTE = "The user did not approve this call of {name}, so it did not run.{reason} Do not call it again."
"""The observation a rejected tool call gets in place of a result."""

INVALID_CALL_NOTE = (
    "Your call of {name} could not be read ({error}), so it did not run. Call it again with arguments that are "
    "valid JSON for its parameters, or answer without it."
)
"""The observation a tool call whose arguments did not parse gets. Without one the turn held no
call the tools node could run, so the run ended with that turn as its (often empty) answer."""


TOOL_ERROR_NOTE = (
    "The call failed and changed nothing: {error} Fix its arguments, use another tool, or answer without it."
)
"""The observation a failed tool call gets (in place of LangGraph's ``Error: ToolException(...)``,
whose Python repr small models copied into their answers)."""


def tool_error_note(error: Exception) -> str:
    """:data:`TOOL_ERROR_NOTE` for ``error`` (``ToolNode``'s ``handle_tool_errors``)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return TOOL_ERROR_NOTE.format(error=text if text.endswith(".") else f"{text}.")


class ReActState(TypedDict):
    """State of a ReAct run."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation: user turns, model turns, tool results."""
    iterations: int
    """Model calls made in this run so far."""
    first_tool: NotRequired[str | None]
    """A tool the run's first model call must call (``tool_choice``), set by the run's input when
    the caller knows what the question needs (``mcploom.agents.routing``); ``None``: the model chooses."""


def _last_turn(messages: Sequence[AnyMessage]) -> AIMessage | None:
    """The latest model turn (after it there may be the notes on its unreadable calls)."""
    return next((message for message in reversed(messages) if isinstance(message, AIMessage)), None)


def route_after_agent(state: ReActState) -> Literal["tools", "agent", "__end__"]:
    """Run the tools while the last model turn asks for them; ask again after a turn whose calls
    could not be read (their notes follow it); otherwise finish."""
    turn = _last_turn(state["messages"])
    if turn is not None and turn.tool_calls:
        return "tools"
    return "agent" if isinstance(state["messages"][-1], ToolMessage) else END


def with_unreadable_calls_answered(reply: BaseMessage) -> list[BaseMessage]:
    """``reply``, followed by an :data:`INVALID_CALL_NOTE` for each of its calls whose arguments
    did not parse (``invalid_tool_calls``), so the model learns why and may try again."""
    if not isinstance(reply, AIMessage) or not reply.invalid_tool_calls:
        return [reply]
    calls = [
        {**call, "id": call.get("id") or f"unreadable_{index}"} for index, call in enumerate(reply.invalid_tool_calls)
    ]
    notes = [
        ToolMessage(
            INVALID_CALL_NOTE.format(
                name=call.get("name") or "a tool", error=" ".join((call.get("error") or "not valid JSON").split())[:300]
            ),
            tool_call_id=call["id"],
            name=call.get("name") or "",
            status="error",
        )
        for call in calls
    ]
    return [reply.model_copy(update={"invalid_tool_calls": calls}), *notes]


def build_react_loop(
    *,
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    system_prompt: str | None = None,
    max_iterations: int = 8,
    approval: Collection[str] = (),
    checkpointer: BaseCheckpointSaver | None = None,
    name: str = "react",
    act_first: bool = False,
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
        act_first: The first model call of a run must call a tool (``tool_choice="any"``): for a
            loop handed a task because of its tools, where answering from memory is wrong.

    Raises:
        ValueError: ``max_iterations`` is below 1.
    """
    if max_iterations < 1:
        raise ValueError(f"max_iterations must be at least 1, got {max_iterations}.")
    with_tools = model.bind_tools(list(tools)) if tools else model
    acting = model.bind_tools(list(tools), tool_choice="any") if tools else model
    first = acting if act_first else with_tools
    names = {t.name for t in tools}
    descriptions = [tool.description for tool in tools] + ([system_prompt] if system_prompt else [])
    prefix = [SystemMessage(system_prompt)] if system_prompt else []

    def prepare(state: ReActState) -> tuple[Any, Any, list[AnyMessage], dict[str, Any]]:
        """The turn's runnable, the one for a reply that must call a tool, its messages and state update."""
        # A new user turn starts a new run, so a resumed thread gets its full budget again.
        used = 0 if isinstance(state["messages"][-1], HumanMessage) else state.get("iterations", 0)
        update = {"iterations": used + 1}
        if used + 1 >= max_iterations and tools:
            return model, model, [*prefix, *state["messages"], SystemMessage(LIMIT_NOTE)], update
        chosen = state.get("first_tool")
        if used == 0 and chosen in names:
            runnable = model.bind_tools(list(tools), tool_choice=chosen)
        else:
            runnable = first if used == 0 else with_tools
        return runnable, acting, [*prefix, *state["messages"]], update

    def answered(state: ReActState, messages: list[AnyMessage], update: dict[str, Any]) -> Exchange:
        reply = yield from checked_answer(messages, state["messages"], descriptions)
        return {**update, "messages": with_unreadable_calls_answered(reply)}

    def agent(state: ReActState) -> dict[str, Any]:
        runnable, forced, messages, update = prepare(state)
        return drive(answered(state, messages, update), lambda r: (forced if r.act else runnable).invoke(r.messages))

    async def aagent(state: ReActState) -> dict[str, Any]:
        runnable, forced, messages, update = prepare(state)
        return await adrive(
            answered(state, messages, update), lambda r: (forced if r.act else runnable).ainvoke(r.messages)
        )

    graph = StateGraph(ReActState)
    graph.add_node("agent", node(agent, aagent, "agent"))
    graph.add_node("tools", ToolNode(list(tools), handle_tool_errors=tool_error_note))
    graph.add_edge(START, "agent")
    graph.add_edge("tools", "agent")
    gated = frozenset(approval) & {t.name for t in tools}
    if not gated:
        graph.add_conditional_edges("agent", as_router(route_after_agent), ["tools", "agent", END])
        return graph.compile(checkpointer=checkpointer, name=name)

    def route(state: ReActState) -> Literal["tools", "approve", "agent", "__end__"]:
        target = route_after_agent(state)
        turn = _last_turn(state["messages"])
        calls = turn.tool_calls if target == "tools" and turn is not None else []
        return "approve" if any(call["name"] in gated for call in calls) else target

    def approve(state: ReActState) -> Command:
        turn = _last_turn(state["messages"])
        assert turn is not None  # the router came here for its calls
        pending = [call for call in turn.tool_calls if call["name"] in gated]
        answer = interrupt(ApprovalInterrupt(kind="approval", calls=pending))
        return _apply_decisions(turn, {call["id"] for call in pending}, answer)

    async def aapprove(state: ReActState) -> Command:
        return approve(state)

    graph.add_node("approve", node(approve, aapprove, "approve"), destinations=("tools", "agent"))
    graph.add_conditional_edges("agent", as_router(route), ["tools", "approve", "agent", END])
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
