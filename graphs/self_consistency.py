"""Self-consistency (Wang et al. 2022): sample several ReAct answers and keep the majority one.

```
                 one Send per sample        +--------+
 START -----------------------------------> | sample |  x samples, in parallel:
                                            +--------+  a ReAct subgraph each
                                                 | (all samples join)
                                                 v
                                             +------+
                                             | vote | ---> END
                                             +------+
```

Each ``sample`` task runs a ReAct subgraph on the conversation so far with its own copy of the
model at ``temperature``, and records its final answer with an answer key (:func:`answer_key`).
``vote`` counts the keys (:func:`count_votes`), keeps the counts in ``vote`` so a stream shows
them, and appends the first sample with the winning key, in full, to ``messages``. Only that
answer joins the conversation: the samples' tool calls and observations stay in their subgraphs
(stream with ``subgraphs=True`` to see them).

Sampling: the model is copied with ``model_copy(update={"temperature": temperature})``, which
works for LangChain's pydantic chat models that declare a ``temperature`` field (``ChatOpenAI``,
``ChatAnthropic``, mcploom's local ``ChatLlamaCpp``). A model with a ``seed`` field that is set
gets ``seed + i`` for sample ``i``, so seeded samples differ from each other and stay
reproducible; an unset seed stays unset (the backend draws a new one per call). A model without a
``temperature`` field is used as is: its samples differ only as much as the model does by itself.

Trade-offs:

- Cost: every sample is a full ReAct run, so a request costs ``samples`` times the model calls
  and tokens. Samples run in parallel, but a local model serves one call at a time, so there the
  time grows ``samples``-fold too.
- Tools run once per sample, in parallel. Give this graph read-only tools (search, calculators,
  SELECT queries): a tool that changes something would change it ``samples`` times. Tools named
  in ``approval`` ask once per sample that calls them.
- The vote compares answer keys, so it suits short answers (a number, a name, yes/no). Free-text
  answers rarely agree word for word; then the first sample wins. Ask for a short final answer
  in ``system_prompt``.
- ``samples=1`` is plain ReAct on the model as given (no temperature copy), in the same graph
  shape: a baseline to compare with, not an error.

Example:
    >>> from mcploom.graphs.self_consistency import build_self_consistency_graph
    >>> graph = build_self_consistency_graph(model=chat_model, tools=[calculate], samples=5)  # doctest: +SKIP
    >>> graph.invoke({"messages": [("user", "What is 6 * 7?")]})["vote"]["counts"]  # doctest: +SKIP
    {'42': 4, '43': 1}
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Overwrite, Send

from mcploom.graphs._loop import build_react_loop
from mcploom.graphs._nodes import as_router, node
from mcploom.graphs._shared import message_text

__all__ = [
    "ANSWER_NODE",
    "Sample",
    "SampleTask",
    "SelfConsistencyState",
    "Vote",
    "answer_key",
    "build_self_consistency_graph",
    "count_votes",
]

ANSWER_NODE = "vote"
"""The node that appends the answer: the winning sample, with no model call (the samples' tokens
stream from inside the ``sample`` tasks, interleaved)."""

_NUMBER = re.compile(r"(?:(?<!\w)-)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
"""A number as answers write it: optional sign (not a hyphen between words or numbers),
thousands separators, decimals."""

_EDGES = " .!?,;:\"'`*_"
"""Stripped from both ends of a text key: whitespace, closing punctuation, quotes, Markdown emphasis."""


class Sample(TypedDict):
    """One sample's final answer."""

    index: int
    """Which sample: 0 to ``samples - 1``; lower wins a tie."""
    answer: str
    """The text of the sample's last message."""
    key: str
    """What the vote compares (:func:`answer_key`)."""


class Vote(TypedDict):
    """The outcome of the vote."""

    key: str
    """The winning answer key ("" when no sample gave an answer)."""
    counts: dict[str, int]
    """Votes per answer key, keys in the order samples first gave them."""
    winner: int
    """The index of the sample whose answer was appended: the first one with the winning key."""


class SampleTask(TypedDict):
    """What one ``sample`` task receives through ``Send``."""

    index: int
    messages: list[AnyMessage]
    """The conversation so far."""


class SelfConsistencyState(TypedDict):
    """State of a self-consistency run."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation: user turns and voted answers (sample work stays in the subgraphs)."""
    samples: Annotated[list[Sample], operator.add]
    """The current request's samples: appended as they finish, in sample order once voted."""
    vote: Vote
    """The current request's vote."""


def answer_key(text: str) -> str:
    """What makes two answers the same vote.

    An answer with a number is keyed by its last number, written plainly (no thousands
    separators, no trailing zeros): the usual reading of arithmetic answers, so that "The answer
    is 42.", "42" and "6 * 7 = 42" agree. Any other answer is keyed by its text, casefolded, with
    whitespace collapsed and closing punctuation, quotes and Markdown emphasis stripped from the
    ends, so that "Paris", "**Paris**" and "paris." agree.

    The cost of the number rule: an answer that ends on an incidental number ("Paris, founded
    before 300") is keyed by that number. Ask for the answer last when that matters.

    Example:
        >>> [answer_key(t) for t in ["The answer is 42.", "42", "7,006,652", "2.50 m", "x = -3"]]
        ['42', '42', '7006652', '2.5', '-3']
        >>> [answer_key(t) for t in ["  **Paris**. ", "New   York!", ""]]
        ['paris', 'new york', '']
    """
    numbers = _NUMBER.findall(text)
    if numbers:
        return format(Decimal(numbers[-1].replace(",", "")).normalize(), "f")
    return " ".join(text.casefold().split()).strip(_EDGES)


def count_votes(samples: Sequence[Sample]) -> Vote:
    """Pick the most common answer key; on a tie, the key whose first sample comes earliest.

    Samples with an empty key (no answer text) do not vote; when no sample has an answer, the
    first sample wins.

    Example:
        >>> count_votes([Sample(index=i, answer=a, key=answer_key(a)) for i, a in enumerate(["5", "4", "Four", "4."])])
        {'key': '4', 'counts': {'5': 1, '4': 2, 'four': 1}, 'winner': 1}
    """
    ordered = sorted(samples, key=lambda s: s["index"])
    counts = Counter(s["key"] for s in ordered if s["key"])
    if not counts:
        return Vote(key="", counts={}, winner=ordered[0]["index"] if ordered else 0)
    key = max(counts, key=counts.__getitem__)  # the first of equals, in first-given order
    winner = next(s["index"] for s in ordered if s["key"] == key)
    return Vote(key=key, counts=dict(counts), winner=winner)


def _sampling_copy(model: BaseChatModel, temperature: float, index: int) -> BaseChatModel:
    """``model`` at ``temperature`` with seed ``seed + index`` when it has them; else ``model``."""
    fields = type(model).model_fields
    if "temperature" not in fields:
        return model
    update: dict[str, Any] = {"temperature": temperature}
    seed = getattr(model, "seed", None)
    if "seed" in fields and isinstance(seed, int):
        update["seed"] = seed + index
    return model.model_copy(update=update)


def build_self_consistency_graph(
    *,
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    samples: int = 5,
    temperature: float = 0.7,
    system_prompt: str | None = None,
    max_iterations: int = 8,
    approval: Collection[str] = (),
    checkpointer: BaseCheckpointSaver | None = None,
    name: str = "self_consistency",
) -> CompiledStateGraph:
    """Compile a self-consistency graph: ``samples`` ReAct runs over ``model`` and ``tools``, one vote.

    Args:
        model: A chat model that supports ``bind_tools``; copied at ``temperature`` per sample when
            it has a ``temperature`` field (see the module docstring).
        tools: The tools each sample may call; they run once per sample, so prefer read-only ones.
        samples: How many ReAct runs vote; 1 is plain ReAct on the model as given.
        temperature: The sampling temperature of the copies (unused when ``samples`` is 1).
        system_prompt: Prepended to every model call of every sample (not stored in the state).
        max_iterations: Most model calls in one sample's ReAct loop.
        approval: Names of tools whose calls wait for a person's decision (see ``mcploom.graphs._loop``).
            Each sample asks on its own: samples that call such a tool pause together, one
            interrupt each, and are resumed with ``Command(resume={interrupt_id: decision})``.
        checkpointer: Persists threads (pass ``thread_id`` in the run config).
        name: The compiled graph's name.

    Returns:
        The compiled graph; its input is ``{"messages": [...]}``, the answer is the last message,
        the samples are in ``samples`` and the counts in ``vote``.

    Raises:
        ValueError: ``samples`` is below 1, ``temperature`` is not above 0 while ``samples`` is
            above 1, or ``max_iterations`` is below 1.
    """
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}.")
    if samples > 1 and temperature <= 0:
        raise ValueError(
            f"temperature must be above 0 with {samples} samples, got {temperature}: "
            "greedy samples all give the same answer. Use e.g. 0.7, or samples=1 for plain ReAct."
        )
    models = [model] if samples == 1 else [_sampling_copy(model, temperature, i) for i in range(samples)]
    runs = [
        build_react_loop(
            model=sampler,
            tools=tools,
            system_prompt=system_prompt,
            max_iterations=max_iterations,
            approval=approval,
            name="sample",
        )
        for sampler in models
    ]

    def fan_out(state: SelfConsistencyState) -> list[Send]:
        """One ``sample`` task per sample, each on the whole conversation."""
        return [Send("sample", SampleTask(index=i, messages=state["messages"])) for i in range(samples)]

    def sampled(task: SampleTask, final: dict[str, Any]) -> dict[str, Any]:
        answer = message_text(final["messages"][-1])
        return {"samples": [Sample(index=task["index"], answer=answer, key=answer_key(answer))]}

    def sample(task: SampleTask, config: RunnableConfig) -> dict[str, Any]:
        return sampled(task, runs[task["index"]].invoke({"messages": task["messages"]}, config))

    async def asample(task: SampleTask, config: RunnableConfig) -> dict[str, Any]:
        return sampled(task, await runs[task["index"]].ainvoke({"messages": task["messages"]}, config))

    def vote(state: SelfConsistencyState) -> dict[str, Any]:
        # The samples channel only grows between votes; this request's samples are the last ones.
        current = sorted(state["samples"][-samples:], key=lambda s: s["index"])
        result = count_votes(current)
        return {
            "samples": Overwrite(current),
            "vote": result,
            "messages": [AIMessage(current[result["winner"]]["answer"])],
        }

    async def avote(state: SelfConsistencyState) -> dict[str, Any]:
        return vote(state)

    graph = StateGraph(SelfConsistencyState)
    graph.add_node("sample", node(sample, asample, "sample"))
    graph.add_node(ANSWER_NODE, node(vote, avote, ANSWER_NODE))
    graph.add_conditional_edges(START, as_router(fan_out), ["sample"])
    # A plain edge, not a router: every sample must finish before the vote.
    graph.add_edge("sample", ANSWER_NODE)
    graph.add_edge(ANSWER_NODE, END)
    return graph.compile(checkpointer=checkpointer, name=name)
