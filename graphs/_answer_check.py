"""A check of the model's final answer before the run ends with it.

Small models often end a run with a reply that is not an answer: empty, a template placeholder
where the tool's value belongs (``"A 15% tip is ${result} euros."``), the tool's error message
copied out, a tool's description copied out, the question said back, or a query or expression
written out instead of run, or, after tool calls, a number or name that no tool result and
no message of the conversation holds (a count or a city made up after listing the tables).
All were seen on Qwen2.5 0.5B and 1.5B. Such a reply is sent back once with a note that says
what is wrong with it, and the model's second reply stands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

__all__ = ["ANSWER_NOTE", "answer_problem", "copies", "sent_back"]

ANSWER_NOTE = (
    "(Note from the system, not the user: {problem} Reply again: call a tool if you still need one, "
    "otherwise answer the user's question with the actual values.)"
)
"""What the model is told, with the problem found, when its answer is sent back."""

_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\{\{[^}]*\}\}|\{(?:result|answer|value|output|x)\}|<result>", re.IGNORECASE)
_QUERY = re.compile(r"^\W*(?:SELECT|WITH)\b.*\bFROM\b", re.IGNORECASE | re.DOTALL)
_EXPRESSION = re.compile(r"^[\s\d.,()]*\d[\s\d.,()]*(?:[-+*/^%][\s\d.,()]*\d[\s\d.,()]*)+$")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:,\d{3})*(?:\.\d+)?(?![\w])")
_NAME = re.compile(r"(?<=[a-z,:;] )[A-Z][a-z]{2,}(?: [A-Z][a-z]{2,})*")
_RESULT_SHOWN = 300  # characters of the last tool result quoted back with a placeholder
_SHARED = 30  # characters an answer may share with a tool error or description before it counts as copying it


def answer_problem(reply: AIMessage, messages: Sequence[AnyMessage], descriptions: Sequence[str] = ()) -> str | None:
    """What is wrong with ``reply`` as the final answer to the conversation ``messages`` (with tools
    described by ``descriptions`` bound), or ``None``."""
    if reply.tool_calls or reply.invalid_tool_calls:
        return None
    text = reply.text.strip()
    if not text:
        return "Your reply was empty."
    turn = _since_last_question(messages)
    placeholder = _PLACEHOLDER.search(text)
    if placeholder:
        results = [m.text for m in turn if isinstance(m, ToolMessage) and m.status != "error"]
        shown = f" The last tool result was: {' '.join(results[-1].split())[:_RESULT_SHOWN]}" if results else ""
        return f"Your reply contains the placeholder {placeholder.group()!r} instead of a value.{shown}"
    if _QUERY.match(text):
        return "Your reply is a query, not its result. Run it with the tool that executes queries."
    if _EXPRESSION.match(text):
        return "Your reply is an expression, not its value. Compute it with the calculator tool."
    question = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    if question and _normal(text) == _normal(question):
        return "Your reply repeats the question instead of answering it."
    if any(copies(text, description) for description in descriptions):
        return "Your reply repeats a tool's description. Call the tool if it helps, or answer the question."
    errors = [m.text for m in turn if isinstance(m, ToolMessage) and m.status == "error"]
    if errors and (text.lower().startswith("error") or any(copies(text, error) for error in errors)):
        return (
            "Your reply repeats a tool's error message. Fix the call (the right tool, valid arguments) "
            "or tell the user in your own words what could not be done."
        )
    if unfounded := _unfounded(text, messages, turn):
        return (
            f"Your reply gives {unfounded!r}, which no tool result shows. Call the tool that finds it "
            "(a query for data in tables)."
        )
    return None


def sent_back(messages: Sequence[AnyMessage], reply: AIMessage, problem: str) -> list[AnyMessage]:
    """The model's input once more, with its reply and a note on what is wrong with it (not kept in the state)."""
    return [*messages, reply, HumanMessage(ANSWER_NOTE.format(problem=problem))]


def _since_last_question(messages: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return messages[index + 1 :]
    return messages


def _unfounded(text: str, messages: Sequence[AnyMessage], turn: Sequence[AnyMessage]) -> str | None:
    """A number or mid-sentence name in ``text`` found in no message of the conversation, once this
    turn has tool results to answer from (an answer without tools may know things: "Tokyo")."""
    if not any(isinstance(m, ToolMessage) and m.status != "error" for m in turn):
        return None
    known = " ".join(m.text for m in messages)
    values = [_value(number) for number in _NUMBER.findall(known)]
    for number in _NUMBER.findall(text):
        if not any(_rounds_to(value, number) for value in values):
            return number
    lowered = known.lower()
    return next((name for name in _NAME.findall(text) if name.lower() not in lowered), None)


def _value(number: str) -> float:
    return float(number.replace(",", ""))


def _rounds_to(value: float, written: str) -> bool:
    """Whether ``value`` written to the decimals of ``written`` is ``written`` (42.0 is 42; 45.3456 is 45.35)."""
    decimals = len(written.partition(".")[2])
    return abs(value - _value(written)) <= 0.5 * 10**-decimals + 1e-9


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def copies(text: str, source: str) -> bool:
    """Whether ``text`` holds a run of :data:`_SHARED` characters of ``source`` (case, punctuation
    and spacing aside): a small model copying out a description rather than writing its own words."""
    source = _normal(source)
    text = _normal(text)
    if len(source) < _SHARED:
        return False
    return any(source[i : i + _SHARED] in text for i in range(0, len(source) - _SHARED + 1, 3))
