"""The debate pattern: debaters answer, read each other's answers and revise until they agree.

```
              one Send per debater     +------------+
 START -------------------------------> | <debater>  |  x N, in parallel: one node per
                                        +------------+  debater, each a ReAct subgraph
                  ^                           | (all of a round's answers join)
                  | no agreement,             v
                  | rounds left         +-----------+
                  +-------------------- | moderator |  records the round (a DebateRound)
                                        +-----------+
                                              | the answers agree, or max_rounds
                                              v
                                         +-------+
                                         | judge | ---> END
                                         +-------+
```

Each debater is a ReAct subgraph over the tools with its own system prompt: its stance (see
:data:`DEFAULT_STANCES`: a proposer and a critic, the propose / critique / revise idea) plus the
caller's ``system_prompt``. In round 1 every debater answers the request on its own. In each later
round a debater sees the request, its own previous answer and the other debaters' latest answers,
and replies with its revised answer (or the same one, when it still holds). Every answer is shown
with the tool calls it rests on (:func:`tool_evidence`), so debaters and judge weigh results, not
just claims. The debaters of a round run in parallel; the ``moderator`` waits for all of them,
records the round in ``rounds`` and sends it as a :class:`~mcploom.graphs.types.DebateRound`
through the custom stream (``stream_mode="custom"``). The answers agree when their keys
(:func:`agreement_key`) are equal: then the ``judge`` appends the agreed answer (the first
debater's) with no model call; after ``max_rounds`` rounds without agreement it answers the user
from the final round's answers with one. Either way the answer is appended to ``messages``, and
only that answer joins the conversation: the debaters' tool calls stay in their
subgraphs (stream with ``subgraphs=True`` to see them). A new user turn on the thread starts a new
debate.

Limits and trade-offs:

- Cost: a round costs one ReAct run per debater (at least one model call each), so a request
  costs up to ``max_rounds * len(stances)`` ReAct runs plus the judge's call (none on agreement). Debaters run in
  parallel, but a local model serves one call at a time, so there the time adds up.
- Agreement compares answer keys (the text after the last ``Answer:``, keyed like
  self-consistency's votes), so it suits short answers: a number, a name, yes/no. Free-text
  answers rarely match word for word, so such debates run all ``max_rounds`` and the judge
  decides.
- Debaters share one model, so their diversity comes from their stances alone: a greedy model
  (temperature 0) often gives every debater the same answer, right or wrong, and the debate
  agrees in round 1. Debate helps most when the debaters' tools or stances lead them to
  different evidence.
- Tools run once per debater per round that calls them; prefer read-only ones. Tools named in
  ``approval`` ask once per debater call (debaters that call one in the same round pause together,
  one interrupt each: resume with ``Command(resume={interrupt_id: decision})``).

Example:
    >>> from mcploom.graphs.debate import build_debate_graph
    >>> graph = build_debate_graph(model=chat_model, tools=[calculate], max_rounds=2)  # doctest: +SKIP
    >>> result = graph.invoke({"messages": [("user", "What is 17 * 23 + 4?")]})  # doctest: +SKIP
    >>> [(r["round"], r["agreed"]) for r in result["rounds"]], result["messages"][-1].content  # doctest: +SKIP
    ([(1, True)], '17 * 23 + 4 = 395')
    >>> stances = {"solver": "You solve it step by step.", "checker": "You check each step with the tools."}
    >>> graph = build_debate_graph(model=chat_model, tools=[calculate], stances=stances)  # doctest: +SKIP
"""

from __future__ import annotations

import operator
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Overwrite, Send

from mcploom.graphs._loop import build_react_loop
from mcploom.graphs._nodes import as_router, node
from mcploom.graphs._shared import answer_node, message_text, report, request_text, with_instructions
from mcploom.graphs.self_consistency import answer_key
from mcploom.graphs.types import DebateRound

__all__ = [
    "ANSWER_NODE",
    "DEFAULT_STANCES",
    "MODERATOR",
    "Answer",
    "DebateState",
    "DebaterTask",
    "Round",
    "agreement_key",
    "build_debate_graph",
    "debater_task",
    "format_answer",
    "tool_evidence",
]

ANSWER_NODE = "judge"
"""The node whose model call streams the final answer."""

MODERATOR = "moderator"
"""The node that records each round and decides whether the debate goes on."""

DEFAULT_STANCES: Mapping[str, str] = {
    "proposer": "You propose an answer and explain it briefly. "
    "When another debater shows that your answer is wrong, change it.",
    "critic": "You look for mistakes: check every number and fact yourself. "
    "When another answer is wrong, say why and give the right one.",
}
"""The debaters used when no ``stances`` are given: one proposes, one critiques, both revise."""

DEBATER_PROMPT = """You are {name}, one of the debaters who answer the user's request. {stance}
Use the tools when they help. Keep your reply short and end it with a line "Answer: <your answer>"."""

REVISE_TASK = """Request: {request}

Your previous answer:
{previous}

The other debaters answered:
{others}

Check their answers and yours. Reply with your revised answer, or keep yours if it is right. \
End with a line "Answer: <your answer>"."""
"""A debater's task in round 2 and later."""

JUDGE_PROMPT = """You judge a debate about the user's request. {verdict}

Final answers:
{answers}

Reply to the user with the answer the debate supports best, in a sentence or two. Use the debaters' \
results; do not work it out again."""
"""The judge's system prompt, when the debaters did not agree. Asked to sum up an agreed debate
("The debaters agreed in round 1"), the bundled 0.5B judge repeated the question instead of
giving the agreed 443, so an agreed debate needs no judge call at all. A small judge also tends
to redo the work instead of reading the debate:
the bundled 0.5B model wrote "17 * 23 + 4 = 409" (and 465, 509) after both debaters had answered 395
with a calculator. "Do not work it out again" and the tool results shown with each answer
(:func:`tool_evidence`) kept it on the debaters' results."""

DISAGREED = "The debaters did not agree in {rounds}: pick the answer with the best reasons."

_MAX_RESULT_CHARS = 300
_MAX_EVIDENCE = 4

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_ANSWER_MARK = re.compile(r"\banswer\s*:", re.IGNORECASE)


class Answer(TypedDict):
    """One debater's answer in one round, as its task reports it."""

    debater: str
    round: int
    answer: str
    """The text of its ReAct run's last message."""
    evidence: list[str]
    """The tool calls of that run, each ``name(args) -> result`` (see :func:`tool_evidence`)."""


class Round(TypedDict):
    """A finished round, as kept in the state (the :class:`DebateRound` payload, plus the evidence)."""

    round: int
    """1 for the independent answers, then 2, 3, ..."""
    answers: dict[str, str]
    """Debater name -> its answer, in the order of ``stances``."""
    evidence: dict[str, list[str]]
    """Debater name -> the tool calls its answer rests on."""
    agreed: bool


class DebaterTask(TypedDict):
    """What one debater's node receives through ``Send``."""

    debater: str
    round: int
    request: str
    previous: Round | None
    """The round before this one (``None`` in round 1)."""


class DebateState(TypedDict):
    """State of a debate run."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation: user turns and the judge's answers (debater work stays in the subgraphs)."""
    answers: Annotated[list[Answer], operator.add]
    """The running round's answers as its debaters finish; the moderator empties it."""
    rounds: Annotated[list[Round], operator.add]
    """The current request's finished rounds; round 1 replaces the previous request's."""


_RESERVED = frozenset({MODERATOR, ANSWER_NODE, *DebateState.__annotations__, START, END})


def agreement_key(answer: str) -> str:
    """What two debaters must share to agree: the :func:`answer_key` of the text after the last
    ``Answer:`` (of the whole answer when there is none).

    Example:
        >>> [agreement_key(t) for t in ["17 * 23 = 391, plus 4.\\nAnswer: 395", "395", "answer: **Paris**."]]
        ['395', '395', 'paris']
    """
    marks = list(_ANSWER_MARK.finditer(answer))
    return answer_key(answer[marks[-1].end() :] if marks else answer)


def tool_evidence(messages: Sequence[BaseMessage]) -> list[str]:
    """The tool calls of a ReAct run, each ``name(args) -> result`` or ``name(args) failed: error``.

    Shown with the answer to the other debaters and the judge, so that they weigh results rather
    than claims: told only that both debaters answered "395", the bundled 0.5B judge wrote
    "17 * 23 + 4 = 465"; shown the calculator calls as well, it answered 395 in 4 of 4 prompts,
    two of them with the other debater answering 409 without a tool. Results are clipped; only
    the last few calls are kept.

    Example:
        >>> call = AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}])
        >>> tool_evidence([HumanMessage("1+2?"), call, ToolMessage("3", tool_call_id="c1"), AIMessage("3")])
        ['add(a=1, b=2) -> 3']
    """
    calls = {call["id"]: call for message in messages if isinstance(message, AIMessage) for call in message.tool_calls}
    evidence = []
    for message in messages:
        if not isinstance(message, ToolMessage) or message.tool_call_id not in calls:
            continue
        call = calls[message.tool_call_id]
        args = ", ".join(f"{key}={value!r}" for key, value in call["args"].items())
        result = " ".join(message_text(message).split())
        if len(result) > _MAX_RESULT_CHARS:
            result = result[: _MAX_RESULT_CHARS - 3] + "..."
        outcome = f"failed: {result}" if message.status == "error" else f"-> {result}"
        evidence.append(f"{call['name']}({args}) {outcome}")
    return evidence[-_MAX_EVIDENCE:]


def format_answer(answer: str, evidence: Sequence[str]) -> str:
    """A debater's answer as the other debaters and the judge read it: the text, then its tool results.

    Example:
        >>> print(format_answer("395", ["calculate(expression='17 * 23 + 4') -> 395"]))
        395
          Tool results: calculate(expression='17 * 23 + 4') -> 395
    """
    return f"{answer}\n  Tool results: {'; '.join(evidence)}" if evidence else answer


def _format_round(last: Round, names: Collection[str]) -> str:
    return "\n".join(
        f"- {name}: {format_answer(last['answers'][name], last['evidence'].get(name, []))}" for name in names
    )


def debater_task(task: DebaterTask) -> str:
    """The text a debater's ReAct run starts from: the request, and from round 2 the answers so far.

    Example:
        >>> print(debater_task(DebaterTask(debater="a", round=1, request="2+2?", previous=None)))
        2+2?
    """
    last = task["previous"]
    if last is None:
        return task["request"]
    me = task["debater"]
    return REVISE_TASK.format(
        request=task["request"],
        previous=format_answer(last["answers"].get(me, ""), last["evidence"].get(me, [])) or "(none)",
        others=_format_round(last, [name for name in last["answers"] if name != me]),
    )


def _check_stances(stances: Any) -> dict[str, str]:
    if not isinstance(stances, Mapping):
        raise ValueError(
            f"At stances: expected a mapping of debater name to stance text, got {type(stances).__name__}. "
            "Pass e.g. {'proposer': 'You propose an answer.', 'critic': 'You look for mistakes.'}."
        )
    if len(stances) < 2:
        raise ValueError(
            f"At stances: a debate needs at least 2 debaters, got {len(stances)} ({', '.join(map(repr, stances))}). "
            "Add another debater, e.g. 'critic': 'You look for mistakes.'."
        )
    for name, stance in stances.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name in _RESERVED:
            raise ValueError(
                f"At stances[{name!r}]: a debater's name must be one word of letters, digits, '_' or '-', "
                f"starting with a letter, and not one of {sorted(_RESERVED)}. Use e.g. 'skeptic'."
            )
        if not isinstance(stance, str) or not stance.strip():
            raise ValueError(
                f"At stances[{name!r}]: the stance must be a non-empty string, got {stance!r}. "
                "Say how this debater argues, e.g. 'You check every number.'."
            )
    return dict(stances)


def build_debate_graph(
    *,
    model: BaseChatModel,
    tools: Sequence[BaseTool] = (),
    system_prompt: str | None = None,
    stances: Mapping[str, str] | None = None,
    max_rounds: int = 3,
    max_iterations: int = 4,
    approval: Collection[str] = (),
    checkpointer: BaseCheckpointSaver | None = None,
    name: str = "debate",
) -> CompiledStateGraph:
    """Compile a debate graph: debaters over ``model`` and ``tools`` argue in rounds, a judge answers.

    Args:
        model: A chat model that supports ``bind_tools`` (when ``tools`` are given); every debater
            and the judge use it.
        tools: The tools every debater may call.
        system_prompt: Extra instructions for every debater and the judge.
        stances: Debater name -> its stance, the start of its system prompt; at least two. Names
            are one word and become node names. Default: :data:`DEFAULT_STANCES`.
        max_rounds: Most rounds per request; 1 means independent answers and a judge.
        max_iterations: Most model calls in one debater's ReAct loop in one round.
        approval: Names of tools whose calls wait for a person's decision (see ``mcploom.graphs._loop``).
        checkpointer: Persists threads (pass ``thread_id`` in the run config).
        name: The compiled graph's name.

    Returns:
        The compiled graph; its input is ``{"messages": [...]}``, the answer is the last message
        and the rounds are in ``rounds``.

    Raises:
        ValueError: ``stances`` is not a mapping, has fewer than two debaters, a bad name or an
            empty stance, or ``max_rounds`` or ``max_iterations`` is below 1.
    """
    debaters = _check_stances(DEFAULT_STANCES if stances is None else stances)
    if max_rounds < 1:
        raise ValueError(
            f"At max_rounds: must be at least 1, got {max_rounds}. "
            "Use 1 for independent answers and a judge, or more to let the debaters revise."
        )
    if max_iterations < 1:
        raise ValueError(
            f"At max_iterations: must be at least 1, got {max_iterations}. "
            "Each debater needs at least one model call per round."
        )
    names = list(debaters)

    # --- debaters (one Send each per round) ---------------------------------------------------

    def debater_node(debater: str) -> Runnable:
        agent = build_react_loop(
            model=model,
            tools=tools,
            system_prompt=with_instructions(
                DEBATER_PROMPT.format(name=debater, stance=debaters[debater]), system_prompt
            ),
            max_iterations=max_iterations,
            approval=approval,
            name=debater,
        )

        def answered(task: DebaterTask, final: dict[str, Any]) -> dict[str, Any]:
            messages = final["messages"]
            answer = Answer(
                debater=debater,
                round=task["round"],
                answer=message_text(messages[-1]),
                evidence=tool_evidence(messages),
            )
            return {"answers": [answer]}

        def argue(task: DebaterTask, config: RunnableConfig) -> dict[str, Any]:
            return answered(task, agent.invoke({"messages": [HumanMessage(debater_task(task))]}, config))

        async def aargue(task: DebaterTask, config: RunnableConfig) -> dict[str, Any]:
            return answered(task, await agent.ainvoke({"messages": [HumanMessage(debater_task(task))]}, config))

        return node(argue, aargue, debater)

    def sends(request: str, previous: Round | None) -> list[Send]:
        number = 1 if previous is None else previous["round"] + 1
        return [
            Send(debater, DebaterTask(debater=debater, round=number, request=request, previous=previous))
            for debater in names
        ]

    def open_debate(state: DebateState) -> list[Send]:
        """Round 1: every debater answers the latest user turn on its own."""
        return sends(request_text(state["messages"]), None)

    # --- moderator ----------------------------------------------------------------------------

    def moderate(state: DebateState) -> dict[str, Any]:
        pending = state["answers"]
        number = pending[-1]["round"] if pending else 1  # the round that just ended wrote last
        given = {a["debater"]: a for a in pending if a["round"] == number}
        answers = {debater: given[debater]["answer"] if debater in given else "" for debater in names}
        evidence = {debater: given[debater]["evidence"] for debater in given if given[debater]["evidence"]}
        keys = {agreement_key(answer) for answer in answers.values()}
        agreed = len(keys) == 1 and "" not in keys
        report(DebateRound(round=number, answers=dict(answers), agreed=agreed))
        record = Round(round=number, answers=answers, evidence=evidence, agreed=agreed)
        # Round 1 starts a new request's debate: the previous request's rounds go.
        return {"answers": Overwrite([]), "rounds": Overwrite([record]) if number == 1 else [record]}

    async def amoderate(state: DebateState) -> dict[str, Any]:
        return moderate(state)

    def route_round(state: DebateState) -> list[Send] | Literal["judge"]:
        """Another round while the answers differ and rounds are left; otherwise the judge."""
        last = state["rounds"][-1]
        if last["agreed"] or last["round"] >= max_rounds:
            return ANSWER_NODE
        return sends(request_text(state["messages"]), last)

    # --- judge --------------------------------------------------------------------------------

    def judge_prompt(state: DebateState) -> str:
        last = state["rounds"][-1]
        rounds = f"{last['round']} round{'' if last['round'] == 1 else 's'}"
        verdict = DISAGREED.format(rounds=rounds)
        answers = _format_round(last, names)
        return with_instructions(JUDGE_PROMPT.format(verdict=verdict, answers=answers), system_prompt)

    def agreed_answer(state: DebateState) -> str | None:
        """The first debater's answer when the last round agreed: nothing is left to judge."""
        last = state["rounds"][-1]
        return last["answers"][names[0]] if last["agreed"] else None

    graph = StateGraph(DebateState)
    for debater in names:
        graph.add_node(debater, debater_node(debater))
        # Plain edges, not a router: a round's debaters must all finish before the moderator.
        graph.add_edge(debater, MODERATOR)
    graph.add_node(MODERATOR, node(moderate, amoderate, MODERATOR))
    graph.add_node(ANSWER_NODE, answer_node(model, judge_prompt, name=ANSWER_NODE, settled=agreed_answer))
    graph.add_conditional_edges(START, as_router(open_debate), names)
    graph.add_conditional_edges(MODERATOR, as_router(route_round), [*names, ANSWER_NODE])
    graph.add_edge(ANSWER_NODE, END)
    return graph.compile(checkpointer=checkpointer, name=name)
