"""The reflection pattern (evaluator-optimizer): draft, critique against a rubric, revise.

```
            +----------+     +------------+     +----------+  score >= threshold,
 START ---> | generate | --> | fact_check | --> | critique | ---- max_rounds, or ----+
            +----------+     +------------+     +----------+   unparsable          |
                               ^  (only with tools)    | score below threshold     v
                               |                       v                      +--------+
                               |                  +--------+                  | finish | ---> END
                               +----------------- | revise |                  +--------+
                                                  +--------+
```

``generate`` drafts an answer. ``fact_check`` (present only when tools are given) is a ReAct
subgraph in which the critic checks the draft's claims with the tools (e.g. RAG search) and
reports what holds. ``critique`` fills in a :class:`Critique` (``with_structured_output``): a
0-10 score against the rubric and concrete feedback, appended to ``critiques`` so every score
shows in the stream. Below ``threshold`` and within ``max_rounds`` critiques, ``revise`` writes a
new draft from the feedback; otherwise ``finish`` appends the best-scored draft (the latest one
on a tie) to ``messages``. A critique that never parses ends the loop.

Example:
    >>> from mcploom.graphs.reflection import build_reflection_graph
    >>> graph = build_reflection_graph(model=chat_model, tools=[search], threshold=8)  # doctest: +SKIP
    >>> graph.invoke({"messages": [("user", "Explain BM25 in two sentences.")]})["critiques"]  # doctest: +SKIP
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Sequence
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Overwrite
from pydantic import BaseModel, Field

from mcploom.graphs._loop import build_react_loop
from mcploom.graphs._nodes import as_router, node
from mcploom.graphs._shared import (
    StructuredCaller,
    arun_subgraph,
    message_text,
    report,
    request_text,
    run_subgraph,
    with_instructions,
)
from mcploom.graphs.types import Critique as Scored

__all__ = [
    "ANSWER_NODE",
    "DEFAULT_RUBRIC",
    "Critique",
    "ReflectionState",
    "Review",
    "best_draft",
    "build_reflection_graph",
]

ANSWER_NODE = "finish"
"""The node that appends the answer: the best draft, with no model call (drafts stream from
``generate`` and ``revise``)."""

DEFAULT_RUBRIC = """- Correct: every claim is true; nothing is made up.
- Complete: it answers every part of the request.
- Clear and concise: no filler, no repetition."""
"""The rubric used when none is given."""

GENERATOR_PROMPT = "Answer the user's request as well as you can."

CHECKER_PROMPT = (
    "You check a draft answer for factual errors. Do not trust the draft: first call a tool to find out the "
    "facts yourself (for example, compute a number again or look the claim up), then report in a sentence or "
    "two the facts the tools gave, and any claim you could not check."
)

CRITIC_PROMPT = """You grade a draft answer against the rubric below. Call the Critique tool with a score from \
0 (useless or wrong) to 10 (meets every point) and feedback that names concrete changes which would raise \
the score. When a fact check is given, trust it over the draft: if it finds a different fact or number than \
the draft states, the draft is wrong, so score it 3 or lower and put the correct fact in the feedback.

Rubric:
{rubric}"""

REVISE_NOTE = """A reviewer scored your answer {score}/10 and said:
{feedback}

Write an improved answer that addresses the feedback. Reply with the answer only."""


class Critique(BaseModel):
    """Grade the draft against the rubric and say concretely what to fix."""

    score: int = Field(ge=0, le=10, description="0 = useless or wrong, 10 = meets every point of the rubric.")
    feedback: str = Field(description="Concrete changes that would raise the score; empty if none are needed.")


class Review(TypedDict):
    """A critique as kept in the state: ``critiques[i]`` grades ``drafts[i]``."""

    score: int | None
    """0-10, or ``None`` when the critic's reply never parsed."""
    feedback: str


class ReflectionState(TypedDict):
    """State of a reflection run."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation: user turns and final answers."""
    drafts: Annotated[list[str], operator.add]
    """Every draft of the current request, first to last."""
    critiques: Annotated[list[Review], operator.add]
    """One review per draft, in the same order."""
    findings: str
    """The fact check of the latest draft (empty without tools)."""


def best_draft(drafts: Sequence[str], critiques: Sequence[Review]) -> str:
    """The draft with the highest score; the latest among equals; unscored drafts rank lowest.

    Example:
        >>> best_draft(["a", "b", "c"], [{"score": 6, "feedback": ""}, {"score": 9, "feedback": ""},
        ...                               {"score": 7, "feedback": ""}])
        'b'
    """

    def rank(index: int) -> tuple[int, int]:
        score = critiques[index]["score"] if index < len(critiques) else None
        return (-1 if score is None else score, index)

    return drafts[max(range(len(drafts)), key=rank)] if drafts else ""


def build_reflection_graph(
    *,
    model: BaseChatModel,
    tools: Sequence[BaseTool] = (),
    system_prompt: str | None = None,
    rubric: str = DEFAULT_RUBRIC,
    threshold: int = 8,
    max_rounds: int = 3,
    max_iterations: int = 4,
    parse_retries: int = 2,
    approval: Collection[str] = (),
    checkpointer: BaseCheckpointSaver | None = None,
    name: str = "reflection",
) -> CompiledStateGraph:
    """Compile a generate-critique-revise graph over ``model``.

    Args:
        model: A chat model that supports ``with_structured_output`` (and ``bind_tools`` when
            ``tools`` are given).
        tools: Tools the critic may call to check facts; none means no ``fact_check`` node.
        system_prompt: Extra instructions for drafting and revising.
        rubric: What the critic grades against.
        threshold: The score (0-10) at which a draft is good enough.
        max_rounds: Most drafts (and critiques) per request.
        max_iterations: Most model calls in one fact check's ReAct loop.
        parse_retries: Re-asks after a critique that does not parse.
        approval: Names of tools whose calls wait for a person's decision (see ``mcploom.graphs._loop``).
        checkpointer: Persists threads (pass ``thread_id`` in the run config).
        name: The compiled graph's name.

    Returns:
        The compiled graph; its input is ``{"messages": [...]}`` and the answer is the last message.

    Raises:
        ValueError: ``threshold`` is outside 0-10 or ``max_rounds`` is below 1.
    """
    if not 0 <= threshold <= 10:
        raise ValueError(f"threshold must be between 0 and 10, got {threshold}.")
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be at least 1, got {max_rounds}.")
    critic = StructuredCaller(model, Critique, parse_retries)
    critic_prompt = CRITIC_PROMPT.format(rubric=rubric)
    writer_prompt = with_instructions(GENERATOR_PROMPT, system_prompt)
    checker = (
        build_react_loop(
            model=model,
            tools=tools,
            system_prompt=CHECKER_PROMPT,
            max_iterations=max_iterations,
            approval=approval,
            name="fact_check",
        )
        if tools
        else None
    )
    review_node = "fact_check" if checker else "critique"

    # --- drafting -----------------------------------------------------------------------------

    def draft_messages(state: ReflectionState) -> list[BaseMessage]:
        return [SystemMessage(writer_prompt), *state["messages"]]

    def first_draft(reply: BaseMessage) -> dict[str, Any]:
        # A new request: earlier drafts and critiques belong to the previous one.
        return {"drafts": Overwrite([message_text(reply)]), "critiques": Overwrite([]), "findings": ""}

    def generate(state: ReflectionState, config: RunnableConfig) -> dict[str, Any]:
        return first_draft(model.invoke(draft_messages(state), config))

    async def agenerate(state: ReflectionState, config: RunnableConfig) -> dict[str, Any]:
        return first_draft(await model.ainvoke(draft_messages(state), config))

    def revise_messages(state: ReflectionState) -> list[BaseMessage]:
        review = state["critiques"][-1]
        note = REVISE_NOTE.format(score=review["score"], feedback=review["feedback"] or "(no details)")
        if state["findings"]:
            note += f"\n\nA fact check of your answer found:\n{state['findings']}"
        return [*draft_messages(state), AIMessage(state["drafts"][-1]), HumanMessage(note)]

    def revise(state: ReflectionState, config: RunnableConfig) -> dict[str, Any]:
        return {"drafts": [message_text(model.invoke(revise_messages(state), config))], "findings": ""}

    async def arevise(state: ReflectionState, config: RunnableConfig) -> dict[str, Any]:
        return {"drafts": [message_text(await model.ainvoke(revise_messages(state), config))], "findings": ""}

    # --- reviewing ----------------------------------------------------------------------------

    def check_task(state: ReflectionState) -> str:
        return f"Request: {request_text(state['messages'])}\n\nDraft answer:\n{state['drafts'][-1]}"

    def fact_check(state: ReflectionState, config: RunnableConfig) -> dict[str, Any]:
        assert checker is not None
        return {"findings": run_subgraph(checker, check_task(state), config)}

    async def afact_check(state: ReflectionState, config: RunnableConfig) -> dict[str, Any]:
        assert checker is not None
        return {"findings": await arun_subgraph(checker, check_task(state), config)}

    def critique_messages(state: ReflectionState) -> list[BaseMessage]:
        text = check_task(state)
        if state["findings"]:
            text += f"\n\nFact check of the draft:\n{state['findings']}"
        return [SystemMessage(critic_prompt), HumanMessage(text)]

    def review(state: ReflectionState, grade: Critique | None) -> dict[str, Any]:
        if grade is None:
            result = Review(score=None, feedback="The critic's reply could not be parsed.")
        else:
            result = Review(score=grade.score, feedback=grade.feedback)
        report(Scored(len(state["critiques"]) + 1, result["score"], result["feedback"]))
        return {"critiques": [result]}

    def critique(state: ReflectionState, config: RunnableConfig) -> dict[str, Any]:
        return review(state, critic.invoke(critique_messages(state), config))

    async def acritique(state: ReflectionState, config: RunnableConfig) -> dict[str, Any]:
        return review(state, await critic.ainvoke(critique_messages(state), config))

    def route_after_critique(state: ReflectionState) -> Literal["revise", "finish"]:
        """Revise while the latest score is below ``threshold`` and rounds are left."""
        score = state["critiques"][-1]["score"]
        if score is None or score >= threshold or len(state["critiques"]) >= max_rounds:
            return "finish"
        return "revise"

    def finish(state: ReflectionState) -> dict[str, Any]:
        return {"messages": [AIMessage(best_draft(state["drafts"], state["critiques"]))]}

    graph = StateGraph(ReflectionState)
    graph.add_node("generate", node(generate, agenerate, "generate"))
    if checker is not None:
        graph.add_node("fact_check", node(fact_check, afact_check, "fact_check"))
        graph.add_edge("fact_check", "critique")
    graph.add_node("critique", node(critique, acritique, "critique"))
    graph.add_node("revise", node(revise, arevise, "revise"))
    graph.add_node(ANSWER_NODE, finish)
    graph.add_edge(START, "generate")
    graph.add_edge("generate", review_node)
    graph.add_edge("revise", review_node)
    graph.add_conditional_edges("critique", as_router(route_after_critique))
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer, name=name)
