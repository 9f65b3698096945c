"""The plan-and-execute pattern: plan the steps, run each one as a ReAct subgraph, revise, answer.

```
            +---------+   ready steps: one Send each   +---------+
 START ---> | planner | -----------------------------> | execute |  x N, in parallel
            +---------+                                +---------+
                 |                                          | (all of a round's steps join)
                 |                                          v
                 |                                    +-----------+  next ready steps
                 |                                    | replanner | -----------------> execute
                 |                                    +-----------+
                 | nothing to run                           | finish, nothing left, or step limit
                 v                                          v
            +------------+ <--------------------------------+
            | synthesize | ---> END
            +------------+
```

The planner fills in a :class:`Plan` (``with_structured_output``): numbered steps, each listing
the steps whose results it needs. Every step whose needs are met runs at once, one ``execute``
task per step (``Send``), each a ReAct subgraph over the tools that sees the request and the
results of the steps it depends on. After each round the replanner (a :class:`Replan`
decision) finishes, continues with the remaining steps, or replaces them; once ``max_replans``
is spent, or the step budget, it passes without a model call. ``synthesize``
answers the user from the step results and appends the answer to ``messages``.

Limits: ``max_steps`` steps run per request (later ones are listed to the synthesizer as not
run), ``max_replans`` replanner model calls (then the remaining plan runs as is), ``max_iterations``
model calls per step. A planner reply that never parses falls back to one step: the request
itself; a replanner reply that never parses means "continue".

Example:
    >>> from mcploom.graphs.plan_execute import build_plan_execute_graph
    >>> graph = build_plan_execute_graph(model=chat_model, tools=[search, calculate])  # doctest: +SKIP
    >>> graph.invoke({"messages": [("user", "Population of France times 2?")]})["messages"][-1].content  # doctest: +SKIP
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Sequence
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Overwrite, Send
from pydantic import BaseModel, Field

from mcploom.graphs._loop import build_react_loop
from mcploom.graphs._nodes import as_router, node
from mcploom.graphs._shared import (
    StructuredCaller,
    answer_node,
    arun_subgraph,
    describe_tools,
    report,
    request_text,
    run_subgraph,
    with_instructions,
)
from mcploom.graphs.types import PlanUpdate, StepResult

__all__ = [
    "ANSWER_NODE",
    "Plan",
    "PlanExecuteState",
    "PlanStep",
    "Replan",
    "ReplanAction",
    "Step",
    "FinishedStep",
    "StepTask",
    "build_plan_execute_graph",
    "normalize_steps",
    "ready_steps",
]

ANSWER_NODE = "synthesize"
"""The node whose model call streams the final answer."""

PLANNER_PROMPT = """You plan how to answer the user's request with the tools below. Call the Plan tool with \
the fewest steps that work (at most {max_steps}). Each step is one instruction that a helper with the tools \
can carry out on its own. Number the steps 1, 2, 3, ... and list in depends_on the numbers of the steps whose \
results a step needs, so that steps that do not need each other can run at the same time.

Tools:
{tools}"""

REPLANNER_PROMPT = """You check the progress of a plan. Given the request, the finished steps with their \
results and the remaining steps, call the Replan tool with one action:
- 'continue': steps remain and they still have to run to answer the request. This is the usual choice while \
steps remain.
- 'finish': no steps remain, or the finished results already answer every part of the request.
- 'replan': a step failed or the remaining steps are wrong; give the new remaining steps, numbered after the \
highest number used so far (depends_on may name finished steps).

Tools:
{tools}"""

REPLAN_QUESTION = (
    "Decide: 'continue' if the remaining steps are still needed, 'replan' if a finished step failed, "
    "'finish' if the finished results already answer the request."
)
"""Closes the replanner's view while steps remain. Without a closing question the bundled 0.5B
model chose 'finish' for every progress report, with steps still to run (measured: 2/6 right
decisions without it, 6/6 with it)."""

REPLAN_QUESTION_DONE = "No steps remain. Finish, or replan if a step failed."
"""Closes the replanner's view once every planned step has run."""

EXECUTOR_PROMPT = (
    "You carry out one step of a larger plan. Use the tools when they help, then reply with the result of "
    "your step only."
)

SYNTHESIZER_PROMPT = """Answer the user's request from the results of the steps below. Answer directly; \
do not describe the plan.

Step results:
{results}"""


class PlanStep(BaseModel):
    """One step of a plan."""

    id: int = Field(ge=1, description="The step's number, unique in the plan: 1, 2, 3, ...")
    task: str = Field(min_length=1, description="What to do, as an instruction that makes sense on its own.")
    depends_on: list[int] = Field(
        default_factory=list, description="Numbers of the steps whose results this step needs; empty if none."
    )


class Plan(BaseModel):
    """The steps that answer the user's request."""

    steps: list[PlanStep] = Field(min_length=1, description="The steps, in a sensible order.")


ReplanAction = Literal["finish", "continue", "replan"]
"""What the replanner decided: answer now, run the remaining steps as planned, or replace them."""


class Replan(BaseModel):
    """Decide how to go on after the latest steps."""

    action: ReplanAction = Field(
        description="'finish': the results answer the request. 'continue': run the remaining steps as planned. "
        "'replan': replace the remaining steps with `steps`."
    )
    steps: list[PlanStep] = Field(
        default_factory=list, description="With 'replan' only: the new remaining steps (not the finished ones)."
    )


class Step(TypedDict):
    """A step of the current plan, as kept in the state."""

    id: int
    task: str
    depends_on: list[int]


class FinishedStep(TypedDict):
    """A finished step and what its executor replied."""

    id: int
    task: str
    result: str


class StepTask(TypedDict):
    """What one ``execute`` task receives through ``Send``."""

    request: str
    step: Step
    inputs: list[FinishedStep]
    """Results of the steps it depends on."""


class PlanExecuteState(TypedDict):
    """State of a plan-and-execute run."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation: user turns and final answers (step work stays in the subgraphs)."""
    request: str
    """The user request this run answers (the latest user turn)."""
    plan: list[Step]
    """The current plan; its steps whose ids are not in ``results`` are still to run. Set by the
    planner, replaced by the replanner (with the remaining steps only, or none to finish)."""
    results: Annotated[list[FinishedStep], operator.add]
    """Finished steps in the order they finished; the planner clears them for a new request."""
    replans: int
    """Replanner calls in this run."""


def normalize_steps(steps: Sequence[PlanStep | Step], done: Collection[int] = ()) -> list[Step]:
    """Turn a model's steps into a plan that can always run.

    Drops steps whose number repeats an earlier step or a finished one (``done``), and
    dependencies on itself or on numbers that exist nowhere; keeps the order.

    Example:
        >>> normalize_steps([PlanStep(id=1, task="a", depends_on=[1, 7]), PlanStep(id=1, task="b")])
        [{'id': 1, 'task': 'a', 'depends_on': []}]
    """
    seen = set(done)
    kept: list[dict[str, Any]] = []
    for step in steps:
        data = step.model_dump() if isinstance(step, BaseModel) else dict(step)
        if data["id"] not in seen:
            seen.add(data["id"])
            kept.append(data)
    return [
        Step(
            id=s["id"],
            task=s["task"],
            depends_on=[d for d in dict.fromkeys(s["depends_on"]) if d in seen and d != s["id"]],
        )
        for s in kept
    ]


def ready_steps(plan: Sequence[Step], results: Sequence[FinishedStep]) -> list[Step]:
    """The steps not run yet whose dependencies have all finished.

    When steps remain but none is ready (the model wrote a dependency cycle), the first one is
    returned so the run goes on in plan order instead of stalling.

    Example:
        >>> plan = [Step(id=1, task="a", depends_on=[]), Step(id=2, task="b", depends_on=[1])]
        >>> [s["id"] for s in ready_steps(plan, [])]
        [1]
    """
    done = {r["id"] for r in results}
    remaining = [s for s in plan if s["id"] not in done]
    ready = [s for s in remaining if all(d in done for d in s["depends_on"])]
    return ready or remaining[:1]


def _format_steps(steps: Sequence[Step]) -> str:
    return "\n".join(
        f"{s['id']}. {s['task']}" + (f" (needs {', '.join(map(str, s['depends_on']))})" if s["depends_on"] else "")
        for s in steps
    )


def _format_results(results: Sequence[FinishedStep]) -> str:
    return "\n".join(f"{r['id']}. {r['task']}\n   Result: {r['result']}" for r in results)


def _step_prompt(task: StepTask) -> str:
    lines = [f"Overall request: {task['request']}"]
    if task["inputs"]:
        lines += ["", "Results of earlier steps:", _format_results(task["inputs"])]
    lines += ["", f"Your step: {task['step']['task']}"]
    return "\n".join(lines)


def build_plan_execute_graph(
    *,
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    system_prompt: str | None = None,
    max_steps: int = 6,
    max_replans: int = 3,
    max_iterations: int = 6,
    parse_retries: int = 2,
    approval: Collection[str] = (),
    checkpointer: BaseCheckpointSaver | None = None,
    name: str = "plan_execute",
) -> CompiledStateGraph:
    """Compile a plan-and-execute graph over ``model`` and ``tools``.

    Args:
        model: A chat model that supports ``bind_tools`` and ``with_structured_output``.
        tools: The tools the step executors may call (the planner sees their descriptions).
        system_prompt: Extra instructions added to the planner's, replanner's, executors' and
            synthesizer's prompts.
        max_steps: Most steps run per request.
        max_replans: Most replanner calls per request; after that the remaining plan runs as is.
        max_iterations: Most model calls in one step's ReAct loop.
        parse_retries: Re-asks after a plan or decision that does not parse.
        approval: Names of tools whose calls wait for a person's decision (see ``mcploom.graphs._loop``).
        checkpointer: Persists threads (pass ``thread_id`` in the run config).
        name: The compiled graph's name.

    Returns:
        The compiled graph; its input is ``{"messages": [...]}`` and the answer is the last message.

    Raises:
        ValueError: A limit is out of range.
    """
    if max_steps < 1:
        raise ValueError(f"max_steps must be at least 1, got {max_steps}.")
    if max_replans < 0:
        raise ValueError(f"max_replans must be 0 or more, got {max_replans}.")
    planner = StructuredCaller(model, Plan, parse_retries)
    replanner = StructuredCaller(model, Replan, parse_retries)
    executor = build_react_loop(
        model=model,
        tools=tools,
        system_prompt=with_instructions(EXECUTOR_PROMPT, system_prompt),
        max_iterations=max_iterations,
        approval=approval,
        name="executor",
    )
    tool_list = describe_tools(tools)
    planner_prompt = with_instructions(PLANNER_PROMPT.format(max_steps=max_steps, tools=tool_list), system_prompt)
    replanner_prompt = with_instructions(REPLANNER_PROMPT.format(tools=tool_list), system_prompt)

    # --- planner ------------------------------------------------------------------------------

    def plan_messages(state: PlanExecuteState) -> list[BaseMessage]:
        return [SystemMessage(planner_prompt), *state["messages"]]

    def plan_update(state: PlanExecuteState, plan: Plan | None) -> dict[str, Any]:
        request = request_text(state["messages"])
        steps = normalize_steps(plan.steps) if plan else [Step(id=1, task=request, depends_on=[])]
        report(PlanUpdate([dict(step) for step in steps], revision=0))
        return {"request": request, "plan": steps, "results": Overwrite([]), "replans": 0}

    def plan(state: PlanExecuteState, config: RunnableConfig) -> dict[str, Any]:
        return plan_update(state, planner.invoke(plan_messages(state), config))

    async def aplan(state: PlanExecuteState, config: RunnableConfig) -> dict[str, Any]:
        return plan_update(state, await planner.ainvoke(plan_messages(state), config))

    # --- execute (one Send per ready step) ----------------------------------------------------

    def step_result(task: StepTask, answer: str) -> dict[str, Any]:
        step = task["step"]
        report(StepResult(step["id"], step["task"], answer))
        return {"results": [FinishedStep(id=step["id"], task=step["task"], result=answer)]}

    def execute(task: StepTask, config: RunnableConfig) -> dict[str, Any]:
        return step_result(task, run_subgraph(executor, _step_prompt(task), config))

    async def aexecute(task: StepTask, config: RunnableConfig) -> dict[str, Any]:
        return step_result(task, await arun_subgraph(executor, _step_prompt(task), config))

    # --- replanner ----------------------------------------------------------------------------

    def replan_messages(state: PlanExecuteState) -> list[BaseMessage]:
        done = {r["id"] for r in state["results"]}
        remaining = [s for s in state["plan"] if s["id"] not in done]
        progress = (
            f"Request: {state['request']}\n\nFinished steps:\n{_format_results(state['results'])}\n\n"
            f"Remaining steps:\n{_format_steps(remaining) or '(none)'}\n\n"
            f"Steps you may still run: {max_steps - len(state['results'])}\n\n"
            f"{REPLAN_QUESTION if remaining else REPLAN_QUESTION_DONE}"
        )
        return [SystemMessage(replanner_prompt), HumanMessage(progress)]

    def replan_update(state: PlanExecuteState, decision: Replan | None) -> dict[str, Any]:
        replans = state["replans"] + 1
        if decision is None or decision.action == "continue":
            return {"replans": replans}
        done = {r["id"] for r in state["results"]}
        plan = [] if decision.action == "finish" else normalize_steps(decision.steps, done=done)
        report(PlanUpdate([dict(step) for step in plan], revision=replans))
        return {"replans": replans, "plan": plan}

    def replan_due(state: PlanExecuteState) -> bool:
        return state["replans"] < max_replans and len(state["results"]) < max_steps

    def replan(state: PlanExecuteState, config: RunnableConfig) -> dict[str, Any]:
        if not replan_due(state):
            return {}
        return replan_update(state, replanner.invoke(replan_messages(state), config))

    async def areplan(state: PlanExecuteState, config: RunnableConfig) -> dict[str, Any]:
        if not replan_due(state):
            return {}
        return replan_update(state, await replanner.ainvoke(replan_messages(state), config))

    # --- routing ------------------------------------------------------------------------------

    def route_steps(state: PlanExecuteState) -> list[Send] | Literal["synthesize"]:
        """One ``execute`` task per ready step, within the step budget; otherwise answer."""
        budget = max_steps - len(state["results"])
        ready = ready_steps(state["plan"], state["results"])[: max(budget, 0)]
        if not ready:
            return "synthesize"
        by_id = {r["id"]: r for r in state["results"]}
        return [
            Send(
                "execute",
                StepTask(request=state["request"], step=s, inputs=[by_id[d] for d in s["depends_on"] if d in by_id]),
            )
            for s in ready
        ]

    # --- answer -------------------------------------------------------------------------------

    def synthesis_prompt(state: PlanExecuteState) -> str:
        prompt = SYNTHESIZER_PROMPT.format(results=_format_results(state["results"]) or "(no step ran)")
        done = {r["id"] for r in state["results"]}
        skipped = [s for s in state["plan"] if s["id"] not in done]
        if skipped:
            prompt += f"\n\nPlanned steps that were not run (step limit):\n{_format_steps(skipped)}"
        return with_instructions(prompt, system_prompt)

    graph = StateGraph(PlanExecuteState)
    graph.add_node("planner", node(plan, aplan, "planner"))
    graph.add_node("execute", node(execute, aexecute, "execute"))
    graph.add_node("replanner", node(replan, areplan, "replanner"))
    graph.add_node(ANSWER_NODE, answer_node(model, synthesis_prompt, name=ANSWER_NODE))
    graph.add_edge(START, "planner")
    graph.add_conditional_edges("planner", as_router(route_steps), ["execute", ANSWER_NODE])
    # A plain edge, not a router: parallel steps must join before anyone looks at the results.
    graph.add_edge("execute", "replanner")
    graph.add_conditional_edges("replanner", as_router(route_steps), ["execute", ANSWER_NODE])
    graph.add_edge(ANSWER_NODE, END)
    return graph.compile(checkpointer=checkpointer, name=name)
