"""The graphs layer's vocabulary, free of langgraph so that the CLI and the config readers can use it
cheaply: the patterns, the approval payload and decisions, and the patterns' progress payloads.

Every pattern module ``mcploom.graphs.<pattern>`` keeps one contract:

- ``build_<pattern>_graph(*, model, tools, system_prompt, max_iterations, approval, checkpointer,
  name, ...)`` compiles it (``supervisor`` takes ``workers`` instead of ``tools``), where
  ``max_iterations`` is the budget of its inner ReAct loops; its other keyword arguments are the
  pattern's options;
- ``ANSWER_NODE`` names the node whose model call writes the final answer;
- progress leaves through LangGraph's custom stream (``get_stream_writer()``, read with
  ``stream_mode="custom"``) as instances of :class:`Progress` subclasses declared here.

Adding a pattern is its module plus its row in :data:`Pattern` and :data:`PATTERN_SUMMARIES`
(and its progress payload here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict, get_args

__all__ = [
    "ACTIONS",
    "PATTERNS",
    "PATTERN_SUMMARIES",
    "Action",
    "ApprovalInterrupt",
    "CallDecision",
    "Critique",
    "DebateRound",
    "Handoff",
    "Pattern",
    "PlanUpdate",
    "Progress",
    "StepResult",
]

Pattern = Literal["react", "plan_execute", "reflection", "supervisor", "debate"]
"""The agent patterns, each a module ``mcploom.graphs.<name>`` (see :data:`PATTERN_SUMMARIES`)."""

PATTERNS: tuple[Pattern, ...] = get_args(Pattern)

PATTERN_SUMMARIES: dict[Pattern, str] = {
    "react": "reasons and calls tools in a loop, the fastest (self-consistency with samples > 1)",
    "plan_execute": "plans steps, runs each as a ReAct agent (independent ones in parallel), replans, synthesises",
    "reflection": "drafts, critiques against a rubric (the critic may check facts with tools), revises",
    "supervisor": "a supervisor routes the work among named workers, each a ReAct agent with its own tools",
    "debate": "debaters with their own stances answer, read each other's answers and revise until they "
    "agree or the rounds run out; a judge answers",
}
"""What each pattern does, in a phrase: the help texts and the agent server's tool description use it."""

if set(PATTERN_SUMMARIES) != set(PATTERNS):  # pragma: no cover - fails on import while a row is half-added
    raise RuntimeError(f"PATTERN_SUMMARIES must describe exactly the patterns {PATTERNS}")

Action = Literal["approve", "edit", "reject"]
"""What a person decides about a tool call that waits for approval."""

ACTIONS: tuple[Action, ...] = get_args(Action)


class CallDecision(TypedDict):
    """A person's answer to a tool call waiting for approval."""

    action: Action
    args: NotRequired[dict[str, Any]]
    """``edit``: the arguments to run the call with instead."""
    reason: NotRequired[str]
    """``reject``: told to the model."""


class ApprovalInterrupt(TypedDict):
    """What an approval ``interrupt()`` carries: the tool calls (``name``, ``args``, ``id``) that wait."""

    kind: Literal["approval"]
    calls: list[dict[str, Any]]


@dataclass(frozen=True)
class Progress:
    """A pattern's progress, sent through LangGraph's custom stream while the run goes on."""

    def summary(self) -> str:
        """The progress in one line, as people read it."""
        raise NotImplementedError


@dataclass(frozen=True)
class PlanUpdate(Progress):
    """Plan-and-execute made or revised its plan: the steps still to run."""

    steps: list[dict[str, Any]]
    """Each ``{"id": int, "task": str, "depends_on": [int, ...]}``."""
    revision: int = 0
    """0 for the first plan, then 1, 2, ... for each revision."""

    def summary(self) -> str:
        steps = "; ".join(f"{step['id']}. {step['task']}" for step in self.steps)
        return f"{'Plan' if self.revision == 0 else 'Revised plan'}: {steps or 'done'}"


@dataclass(frozen=True)
class StepResult(Progress):
    """Plan-and-execute finished one step."""

    id: int
    task: str
    result: str

    def summary(self) -> str:
        return f"Step {self.id} done: {self.result}"


@dataclass(frozen=True)
class Critique(Progress):
    """Reflection scored a draft against its rubric."""

    round: int
    score: int | None
    """0-10, or ``None`` when the critic's reply could not be parsed."""
    feedback: str

    def summary(self) -> str:
        return f"Critique {self.round}: score {self.score}/10. {self.feedback}".strip()


@dataclass(frozen=True)
class Handoff(Progress):
    """The supervisor routed work to a worker (``worker`` is ``"FINISH"`` when it is done)."""

    worker: str
    instruction: str

    def summary(self) -> str:
        if self.worker == "FINISH":
            return "Supervisor: finishing"
        return f"Supervisor -> {self.worker}: {self.instruction}"


@dataclass(frozen=True)
class DebateRound(Progress):
    """A debate round ended: every debater's latest answer, and whether they now agree."""

    round: int
    answers: dict[str, str] = field(default_factory=dict)
    """Debater name -> its answer in this round."""
    agreed: bool = False

    def summary(self) -> str:
        answers = "; ".join(f"{name}: {answer}" for name, answer in self.answers.items())
        return f"Debate round {self.round}{' (agreed)' if self.agreed else ''}: {answers}"
