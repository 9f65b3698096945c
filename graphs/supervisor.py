"""The supervisor pattern: a supervisor hands tasks to named workers until the request is answered.

```
               +------------+   next = a worker, with an instruction   +----------+  one node per
 START ------> | supervisor | ---------------------------------------> | <worker> |  worker, each
               +------------+ <--------------------------------------- +----------+  a ReAct subgraph
                     |                 its reply, as an Assignment
                     | next = FINISH, or a guard stops the run
                     v
                +--------+
                | finish | ---> END
                +--------+
```

The supervisor fills in a ``Route`` decision (``with_structured_output``, see
:func:`route_schema`): ``answered`` (is the request answered yet?), ``next``, a ``Literal`` of
the worker names plus ``"FINISH"`` built when the graph is built, and ``instruction``; routing
never parses free text. Each worker is a ReAct subgraph with its own system prompt and tool
subset; it gets the user's request and the supervisor's instruction, calls one of its tools
first (the supervisor chose it for them: a 0.5B worker that skipped them made its answer up),
and its reply is recorded as an :class:`Assignment`; each routing decision is reported as a ``Handoff`` progress. ``finish``
answers the user from the assignments and appends the answer to ``messages``.

Guards, each recorded in ``guard`` so the stream shows why the run stopped:
- ``max_handoffs`` handoffs per request, then finish;
- a handoff identical to an earlier one in this request (same worker, same instruction up to
  case and spacing, e.g. A -> B -> A -> B ping-pong) is refused: the supervisor is told and asked
  once more; a repeat again finishes the run;
- a decision that does not parse after ``parse_retries`` re-asks finishes the run.

When a worker's reply repeats one of its earlier replies, the supervisor's prompt says so
(:data:`STALLED_NOTE`), which helps small models see that the work is done. An instruction that
copies the worker's description out (a 0.5B supervisor's habit, measured) is replaced by the
user's request, which names the actual task.

Example:
    >>> from mcploom.graphs.supervisor import Worker, build_supervisor_graph
    >>> researcher = Worker("researcher", "Finds facts in the docs.", "You research.", [search])  # doctest: +SKIP
    >>> graph = build_supervisor_graph(model=chat_model, workers=[researcher])  # doctest: +SKIP
"""

from __future__ import annotations

import operator
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Overwrite
from pydantic import BaseModel, Field, create_model

from mcploom.graphs._answer_check import copies
from mcploom.graphs._loop import build_react_loop
from mcploom.graphs._nodes import as_router, node
from mcploom.graphs._shared import (
    Exchange,
    StructuredCaller,
    adrive,
    answer_node,
    arun_subgraph,
    drive,
    report,
    request_text,
    run_subgraph,
    with_instructions,
)
from mcploom.graphs.types import Handoff

__all__ = [
    "ANSWER_NODE",
    "FINISH",
    "Assignment",
    "SupervisorState",
    "Worker",
    "build_supervisor_graph",
    "route_schema",
]

FINISH: Literal["FINISH"] = "FINISH"
"""The ``next`` value that ends the run."""

ANSWER_NODE = "finish"
"""The node whose model call streams the final answer."""

_RESERVED = {"supervisor", ANSWER_NODE, FINISH, "__start__", "__end__"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")

SUPERVISOR_PROMPT = """You lead a team of workers and decide who acts next to answer the user's request. \
Call the Route tool with `next` set to a worker's name and `instruction` set to a precise task that the worker \
can do on its own, or with `next` set to FINISH when the results answer the request or no worker can help. \
Never give a worker a task it has already done.

Workers:
{workers}"""

REPEAT_NOTE = (
    "{worker} was already asked exactly that, and its reply is above. "
    "Choose another worker or a different instruction, or FINISH."
)
"""Told to the supervisor when it repeats an earlier handoff."""

STALLED_NOTE = "{worker}'s latest reply repeats an earlier one: asking it again will not help."
"""Added to the supervisor's prompt when a worker gives the same reply twice in a request."""

WORKER_TASK = "Request from the user: {request}\n\nYour task: {instruction}\n\nReply with the result of your task."

FINISH_PROMPT = """Answer the user's request from your workers' results below. Answer directly; do not \
describe who did what.

Results:
{results}"""


@dataclass(frozen=True)
class Worker:
    """A worker the supervisor can hand tasks to: a ReAct agent with its own prompt and tools.

    Attributes:
        name: One word, unique in the team (the node name and the value of ``next``).
        description: What it is good at, shown to the supervisor.
        system_prompt: The worker's own system prompt.
        tools: The tools only this worker may call.
    """

    name: str
    description: str
    system_prompt: str
    tools: Sequence[BaseTool] = ()


class Assignment(TypedDict):
    """One task the supervisor handed to a worker, and the worker's reply."""

    worker: str
    instruction: str
    result: str


class SupervisorState(TypedDict):
    """State of a supervisor run."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation: user turns and final answers (worker work stays in the subgraphs)."""
    request: str
    """Id of the user turn this run answers; a new one clears ``handoffs``."""
    handoffs: Annotated[list[Assignment], operator.add]
    """Tasks handed out for the current request, in order."""
    next: str
    """The supervisor's latest choice: a worker's name or ``"FINISH"``."""
    instruction: str
    """The task for ``next``."""
    guard: str | None
    """Why the run was stopped against (or without) the supervisor's choice; ``None`` when it wasn't."""


def route_schema(names: Sequence[str]) -> type[BaseModel]:
    """The supervisor's decision model: ``next`` is one of ``names`` or ``"FINISH"``.

    ``answered`` comes first so the model judges whether the work is done before it picks who
    acts next; once a worker has replied, ``answered=True`` finishes the run whatever ``next``
    says (a 0.5B model, measured, set ``answered`` right but kept naming a worker in ``next``).

    Example:
        >>> route_schema(["researcher"])(answered=False, next="researcher", instruction="find X").next
        'researcher'
    """
    choices = Literal[(*names, FINISH)]  # type: ignore[valid-type]
    return create_model(
        "Route",
        __doc__="Choose who acts next, or FINISH.",
        answered=(
            bool,
            Field(
                description="true only when the replies so far answer every part of the user's request; false "
                "while a part (such as a calculation the request asks for) is still to do."
            ),
        ),
        next=(choices, Field(description="The worker who acts next, or FINISH when the request is answered.")),
        instruction=(
            str,
            Field(
                default="",
                description="The task for that worker in your own words: the part of the user's request it should "
                "do now, with the facts and numbers it needs from earlier replies.",
            ),
        ),
    )


def _check_workers(workers: Sequence[Worker]) -> None:
    if not workers:
        raise ValueError("At build_supervisor_graph: no workers. Pass at least one Worker(name, description, ...).")
    seen: set[str] = set()
    for worker in workers:
        if not _NAME.fullmatch(worker.name) or worker.name in _RESERVED:
            raise ValueError(
                f"At Worker {worker.name!r}: the name must be one word of letters, digits, '_' or '-', starting "
                f"with a letter, and not one of {sorted(_RESERVED)}. Use e.g. 'researcher'."
            )
        if worker.name in seen:
            raise ValueError(f"At Worker {worker.name!r}: two workers have this name. Give each a unique name.")
        seen.add(worker.name)


def _request_id(messages: Sequence[AnyMessage]) -> str:
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return messages[index].id or f"#{index}"
    return ""


def _same_task(instruction: str) -> str:
    return " ".join(instruction.casefold().split())


def _format_handoffs(handoffs: Sequence[Assignment]) -> str:
    return "\n".join(
        f"{i}. {h['worker']} was asked: {h['instruction']}\n   Reply: {h['result']}" for i, h in enumerate(handoffs, 1)
    )


Decisions = Exchange[list[BaseMessage], Any, dict[str, Any]]
"""Supervisor logic: yields prompts, receives decisions, returns the state update."""


def _stalled(handoffs: Sequence[Assignment]) -> str | None:
    """The worker whose latest reply repeats one of its earlier replies in this request, if any."""
    if not handoffs:
        return None
    last = handoffs[-1]
    same = _same_task(last["result"])
    return (
        last["worker"]
        if any(h["worker"] == last["worker"] and _same_task(h["result"]) == same for h in handoffs[:-1])
        else None
    )


def _progress(handoffs: Sequence[Assignment]) -> str:
    """The supervisor's last prompt line: the work so far and the question."""
    if not handoffs:
        return "No worker has been asked yet. Who acts first?"
    text = f"Work so far:\n{_format_handoffs(handoffs)}\n\n"
    stalled = _stalled(handoffs)
    if stalled:
        text += STALLED_NOTE.format(worker=stalled) + "\n\n"
    return text + "Who acts next? FINISH if the replies above answer the request."


def build_supervisor_graph(
    *,
    model: BaseChatModel,
    workers: Sequence[Worker],
    system_prompt: str | None = None,
    max_handoffs: int = 6,
    max_iterations: int = 6,
    parse_retries: int = 2,
    approval: Collection[str] = (),
    checkpointer: BaseCheckpointSaver | None = None,
    name: str = "supervisor",
) -> CompiledStateGraph:
    """Compile a supervisor graph that routes among ``workers``.

    Args:
        model: A chat model that supports ``bind_tools`` and ``with_structured_output``; the
            supervisor and every worker use it.
        workers: The team; each becomes a ReAct subgraph and a node named after it.
        system_prompt: Extra instructions for the supervisor and the final answer.
        max_handoffs: Most tasks handed out per request; then the run finishes.
        max_iterations: Most model calls in one worker's ReAct loop.
        parse_retries: Re-asks after a decision that does not parse.
        approval: Names of tools whose calls wait for a person's decision (see ``mcploom.graphs._loop``).
        checkpointer: Persists threads (pass ``thread_id`` in the run config).
        name: The compiled graph's name.

    Returns:
        The compiled graph; its input is ``{"messages": [...]}`` and the answer is the last message.

    Raises:
        ValueError: No workers, a bad or duplicate worker name, or a limit out of range.
    """
    _check_workers(workers)
    if max_handoffs < 1:
        raise ValueError(f"max_handoffs must be at least 1, got {max_handoffs}.")
    names = [w.name for w in workers]
    router = StructuredCaller(model, route_schema(names), parse_retries)
    roster = "\n".join(f"- {w.name}: {w.description}" for w in workers)
    descriptions = {w.name: w.description for w in workers}
    supervisor_prompt = with_instructions(SUPERVISOR_PROMPT.format(workers=roster), system_prompt)

    # --- supervisor ---------------------------------------------------------------------------

    def supervise(state: SupervisorState) -> Decisions:
        """The supervisor's logic; yields the prompts to decide on and receives the decisions."""
        request = _request_id(state["messages"])
        update: dict[str, Any] = {}
        handoffs = state.get("handoffs", [])
        if state.get("request") != request:  # a new user turn: start a fresh team run
            update, handoffs = {"request": request, "handoffs": Overwrite([])}, []
        if len(handoffs) >= max_handoffs:
            return {**update, "next": FINISH, "instruction": "", "guard": f"max_handoffs ({max_handoffs}) reached"}
        progress = _progress(handoffs)
        messages = [SystemMessage(supervisor_prompt), *state["messages"], HumanMessage(progress)]
        done = {(h["worker"], _same_task(h["instruction"])) for h in handoffs}
        decision = yield messages
        for attempt in range(2):
            if decision is None:
                return {**update, "next": FINISH, "instruction": "", "guard": "unparsable decision"}
            if decision.answered and handoffs:
                return {**update, "next": FINISH, "instruction": "", "guard": None}
            instruction = decision.instruction
            if copies(instruction, descriptions.get(decision.next, "")):
                instruction = request_text(state["messages"])
            if decision.next == FINISH or (decision.next, _same_task(instruction)) not in done:
                return {**update, "next": decision.next, "instruction": instruction, "guard": None}
            if attempt == 0:
                decision = yield [*messages, HumanMessage(REPEAT_NOTE.format(worker=decision.next))]
        return {**update, "next": FINISH, "instruction": "", "guard": f"repeated handoff to {decision.next}"}

    def reported(update: dict[str, Any]) -> dict[str, Any]:
        report(Handoff(update["next"], update["instruction"]))
        return update

    def supervisor(state: SupervisorState, config: RunnableConfig) -> dict[str, Any]:
        return reported(drive(supervise(state), lambda messages: router.invoke(messages, config)))

    async def asupervisor(state: SupervisorState, config: RunnableConfig) -> dict[str, Any]:
        return reported(await adrive(supervise(state), lambda messages: router.ainvoke(messages, config)))

    def route_supervisor(state: SupervisorState) -> str:
        """The chosen worker's node, or ``finish``. (Worker names are known only at build time.)"""
        return state["next"] if state["next"] in names else ANSWER_NODE

    # --- workers ------------------------------------------------------------------------------

    def worker_node(worker: Worker) -> Runnable:
        agent = build_react_loop(
            model=model,
            tools=worker.tools,
            system_prompt=worker.system_prompt,
            max_iterations=max_iterations,
            approval=approval,
            name=worker.name,
            act_first=True,
        )

        def task(state: SupervisorState) -> str:
            request = request_text(state["messages"])
            return WORKER_TASK.format(request=request, instruction=state["instruction"] or request)

        def handoff(state: SupervisorState, result: str) -> dict[str, Any]:
            return {"handoffs": [Assignment(worker=worker.name, instruction=state["instruction"], result=result)]}

        def work(state: SupervisorState, config: RunnableConfig) -> dict[str, Any]:
            return handoff(state, run_subgraph(agent, task(state), config))

        async def awork(state: SupervisorState, config: RunnableConfig) -> dict[str, Any]:
            return handoff(state, await arun_subgraph(agent, task(state), config))

        return node(work, awork, worker.name)

    # --- answer -------------------------------------------------------------------------------

    def finish_prompt(state: SupervisorState) -> str:
        results = _format_handoffs(state.get("handoffs", [])) or "(no worker was asked)"
        return with_instructions(FINISH_PROMPT.format(results=results), system_prompt)

    graph = StateGraph(SupervisorState)
    graph.add_node("supervisor", node(supervisor, asupervisor, "supervisor"))
    for worker in workers:
        graph.add_node(worker.name, worker_node(worker))
        graph.add_edge(worker.name, "supervisor")
    graph.add_node(ANSWER_NODE, answer_node(model, finish_prompt, name=ANSWER_NODE))
    graph.add_edge(START, "supervisor")
    graph.add_conditional_edges("supervisor", as_router(route_supervisor), [*names, ANSWER_NODE])
    graph.add_edge(ANSWER_NODE, END)
    return graph.compile(checkpointer=checkpointer, name=name)
