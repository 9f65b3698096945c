"""A check of the model's final answer before the run ends with it.

Small models often end a run with a reply that is not an answer: empty, a template placeholder
where the tool's value belongs (``"A 15% tip is ${result} euros."``), the tool's error message
copied out, a tool's description copied out, the question said back, or a query or expression
written out instead of run, or, after tool calls, a number or name that no tool result and
no message of the conversation holds (a count or a city made up after listing the tables).
All were seen on Qwen2.5 0.5B and 1.5B. Such a reply is sent back once with a note that says
what is wrong with it, and the model's second reply stands (:func:`checked_answer`). Where only
a tool can mend the reply (the question said back, a tool's error copied out, a result copied out
that lacks the question's own numbers), the second reply must call one (:attr:`Request.act`).

Two mends need no second reply: a placeholder that names a field of the last tool result
(``${result}`` beside ``{"result": 12.96}``) is filled with that field's value, and sentences of
the note that the second reply copies out are removed from it.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Generator, Sequence
from typing import NamedTuple

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, ToolMessage

__all__ = ["ANSWER_NOTE", "Problem", "Request", "answer_problem", "checked_answer", "copies", "sent_back"]

ANSWER_NOTE = (
    "(Note from the system, not the user: {problem} Reply again: call a tool if you still need one, "
    "otherwise answer the user's question with the actual values.)"
)
"""What the model is told, with the problem found, when its answer is sent back."""

_PLACEHOLDER = re.compile(
    r"\$\{[^}]*\}|\{\{[^}]*\}\}|(?i:\{(?:result|answer|value|output|x)\}|<result>)"
    r"|\[[a-z_]+(?: [a-z_]+)?\](?!\()"  # "[day]", not a link's "[docs](...)" nor "[Note]"
)
_QUERY = re.compile(r"^\W*(?:SELECT|WITH)\b.*\bFROM\b", re.IGNORECASE | re.DOTALL)
_EXPRESSION = re.compile(r"^[\s\d.,()]*\d[\s\d.,()]*(?:[-+*/^%][\s\d.,()]*\d[\s\d.,()]*)+$")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:,\d{3})*(?:\.\d+)?(?![\w])")
_NAME = re.compile(r"(?<=[a-z,:;] )[A-Z][a-z]{2,}(?: [A-Z][a-z]{2,})*")
_FIELD = re.compile(r"\w+")
_NOTE_SENTENCES = [
    part.strip() for part in re.split(r"[.:]\s|[()]", ANSWER_NOTE.replace("{problem}", ".")) if len(part.strip()) >= 20
]
_SAID_BACK_WORDS = 3  # fewer words of the question than this may be its answer
_CALENDAR = frozenset(calendar.month_name[1:]) | frozenset(calendar.day_name)  # read off any date a result gives
_FILLER = frozenset("a an the is are was were it this that".split())
_MARKUP = re.compile(r"</?[a-z_]+>")
_COPIED = 0.8  # share of a tool result's lines an answer holds when it copies the result out
_RESULT_SHOWN = 300  # characters of the last tool result quoted back with a placeholder
_SHARED = 30  # characters an answer may share with a tool error or description before it counts as copying it


class Problem(NamedTuple):
    """What is wrong with a final answer, and whether the second reply must call a tool."""

    text: str
    act: bool = False


class Request(NamedTuple):
    """A model call :func:`checked_answer` asks for: its messages, and whether it must call a tool."""

    messages: list[BaseMessage]
    act: bool = False


def answer_problem(
    reply: AIMessage, messages: Sequence[AnyMessage], descriptions: Sequence[str] = ()
) -> Problem | None:
    """What is wrong with ``reply`` as the final answer to the conversation ``messages``, or ``None``.
    ``descriptions`` are texts the model was given that an answer must not copy out: the bound
    tools' descriptions and the system prompt."""
    if reply.tool_calls or reply.invalid_tool_calls:
        return None
    text = reply.text.strip()
    if not _MARKUP.sub("", text).strip():  # "<tool_response>" alone: a reply cut off at its first tag
        return Problem("Your reply was empty.")
    turn = _since_last_question(messages)
    results = _results(turn)
    placeholder = _PLACEHOLDER.search(text)
    if placeholder:
        shown = f" The last tool result was: {_shown(results[-1])}" if results else ""
        return Problem(f"Your reply contains the placeholder {placeholder.group()!r} instead of a value.{shown}")
    # Written out after it ran, the query or expression needs its result read, not another run.
    ran = f" It has run; its result was: {_shown(results[-1])} Answer with that value." if results else ""
    if _QUERY.match(text):
        return Problem(f"Your reply is a query, not its result.{ran or ' Run it with the tool that executes queries.'}")
    if _EXPRESSION.match(text):
        return Problem(f"Your reply is an expression, not its value.{ran or ' Compute it with the calculator tool.'}")
    question = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    if question and _says_back(text, question):
        # With no result to answer from only a call can help; after results, a call made the model
        # wander off (queries about a city a time question named) where an answer was due.
        if results:
            return Problem("Your reply repeats the question instead of answering it from the tool results.")
        return Problem(
            "Your reply repeats the question instead of answering it. Call the tool that finds the answer.", act=True
        )
    if any(copies(text, description) for description in descriptions):
        return Problem(
            "Your reply repeats a tool's description or your instructions. Call a tool if it helps, "
            "or answer the question."
        )
    errors = [m.text for m in turn if isinstance(m, ToolMessage) and m.status == "error"]
    if errors and (text.lower().startswith("error") or any(copies(text, error) for error in errors)):
        return Problem(
            "Your reply repeats a tool's error message. Call the tool again with arguments that fix the error, "
            "or call the right tool.",
            act=True,
        )
    if missing := _missing_from_copy(text, question, results):
        return Problem(
            f"Your reply copies a tool result out, but the question's {missing} is not in it. Work the answer out "
            "from the result and the question: call the calculator for the arithmetic.",
            act=True,
        )
    if unfounded := _unfounded(text, messages, turn):
        return Problem(
            f"Your reply gives {unfounded!r}, which no tool result shows. Call the tool that finds it "
            "(a query for data in tables)."
        )
    return None


def sent_back(messages: Sequence[BaseMessage], reply: AIMessage, problem: str) -> list[BaseMessage]:
    """The model's input once more, with its reply and a note on what is wrong with it (not kept in the state)."""
    return [*messages, reply, HumanMessage(ANSWER_NOTE.format(problem=problem))]


def checked_answer(
    prompt: Sequence[BaseMessage],
    conversation: Sequence[AnyMessage],
    descriptions: Sequence[str] = (),
) -> Generator[Request, BaseMessage, AIMessage]:
    """The reply to ``prompt`` (the first request) made the final answer to ``conversation``: mended
    where it can be, else sent back once (the second request, whose reply stands once mended)."""
    reply = _filled(_as_ai((yield Request(list(prompt)))), conversation)
    if problem := answer_problem(reply, conversation, descriptions):
        second = _as_ai((yield Request(sent_back(prompt, reply, problem.text), act=problem.act)))
        if _made_before(second, conversation):
            return reply  # made to call a tool, it ran an answered call again: that adds nothing and loops
        return _ran_instead(_without_note(_filled(second, conversation)), conversation)
    return reply


def _as_ai(message: BaseMessage) -> AIMessage:
    return message if isinstance(message, AIMessage) else AIMessage(message.text)


def _made_before(reply: AIMessage, conversation: Sequence[AnyMessage]) -> bool:
    """Whether every call of ``reply`` is one the conversation already made, with the same arguments."""
    made = [(c["name"], c["args"]) for m in conversation if isinstance(m, AIMessage) for c in m.tool_calls]
    return bool(reply.tool_calls) and all((c["name"], c["args"]) in made for c in reply.tool_calls)


def _ran_instead(reply: AIMessage, conversation: Sequence[AnyMessage]) -> AIMessage:
    """``reply``, or, when it is still only the query or expression of a call that ran (written out
    twice over), that call's result: the data the user asked for, not the way to get it."""
    stripped = reply.text.strip()
    if reply.tool_calls or not (_QUERY.match(stripped) or _EXPRESSION.match(stripped)):
        return reply
    text = _normal(stripped)
    turn = _since_last_question(conversation)
    results = {m.tool_call_id: m.text for m in turn if isinstance(m, ToolMessage) and m.status != "error"}
    for message in turn:
        for call in message.tool_calls if isinstance(message, AIMessage) else []:
            written = [_normal(value) for value in call["args"].values() if isinstance(value, str)]
            if call["id"] in results and text in written:
                return AIMessage(results[call["id"]], id=reply.id)
    return reply


def _filled(reply: AIMessage, conversation: Sequence[AnyMessage]) -> AIMessage:
    """``reply`` with each placeholder that names a scalar field of the turn's last tool result
    replaced by its value; unchanged unless every placeholder is one."""
    if reply.tool_calls or not isinstance(reply.content, str):
        return reply
    results = _results(_since_last_question(conversation))
    try:
        fields = json.loads(results[-1]) if results else None
    except ValueError:
        return reply
    if not isinstance(fields, dict):
        return reply
    values = {
        key: str(value)
        for key, value in fields.items()
        if isinstance(value, (int, float, str)) and not isinstance(value, bool)
    }
    placeholders = _PLACEHOLDER.findall(reply.content)
    names = [(_FIELD.findall(placeholder) or [""])[0] for placeholder in placeholders]
    if not placeholders or not all(name in values for name in names):
        return reply
    text = reply.content
    for placeholder, name in zip(placeholders, names, strict=True):
        text = text.replace(placeholder, values[name])
    return reply.model_copy(update={"content": text})


def _without_note(reply: AIMessage) -> AIMessage:
    """``reply`` without the sentences of :data:`ANSWER_NOTE` it copied out (the model said the note back)."""
    if not isinstance(reply.content, str):
        return reply
    text = reply.content
    for sentence in _NOTE_SENTENCES:
        text = re.sub(re.escape(sentence) + r"[.)]?", "", text, flags=re.IGNORECASE)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return reply if text == reply.content else reply.model_copy(update={"content": text})


def _shown(result: str) -> str:
    return " ".join(result.split())[:_RESULT_SHOWN]


def _results(turn: Sequence[AnyMessage]) -> list[str]:
    return [m.text for m in turn if isinstance(m, ToolMessage) and m.status != "error"]


def _since_last_question(messages: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return messages[index + 1 :]
    return messages


def _missing_from_copy(text: str, question: str, results: Sequence[str]) -> str | None:
    """A number of ``question`` that the tool result ``text`` copies out does not hold: the answer
    needed that number worked in ("62 euros a day" copied out for "a 5-day trip")."""
    copied = next((result for result in results if _copied(text, result)), None)
    if copied is None:
        return None
    values = [_value(number) for number in _NUMBER.findall(copied)]
    return next((n for n in _NUMBER.findall(question) if not any(_rounds_to(v, n) for v in values)), None)


def _copied(text: str, result: str) -> bool:
    """Whether ``text`` holds most lines of ``result`` (of two or more lines) word for word."""
    lines = [_normal(line) for line in result.splitlines() if _normal(line)]
    held = _normal(text)
    return len(lines) >= 2 and sum(line in held for line in lines) >= _COPIED * len(lines)


def _unfounded(text: str, messages: Sequence[AnyMessage], turn: Sequence[AnyMessage]) -> str | None:
    """A number or mid-sentence name in ``text`` found in no message of the conversation, once this
    turn has tool results to answer from (an answer without tools may know things: "Tokyo")."""
    if not _results(turn):
        return None
    known = " ".join(m.text for m in messages)
    values = [_value(number) for number in _NUMBER.findall(known)]
    for number in _NUMBER.findall(text):
        if not any(_rounds_to(value, number) for value in values):
            return number
    lowered = known.lower()
    return next((name for name in _NAME.findall(text) if name.lower() not in lowered and name not in _CALENDAR), None)


def _value(number: str) -> float:
    return float(number.replace(",", ""))


def _rounds_to(value: float, written: str) -> bool:
    """Whether ``value`` written to the decimals of ``written`` is ``written`` (42.0 is 42; 45.3456 is 45.35)."""
    decimals = len(written.partition(".")[2])
    return abs(value - _value(written)) <= 0.5 * 10**-decimals + 1e-9


def _says_back(text: str, question: str) -> bool:
    """Whether ``text`` is ``question`` said back: its words, filler aside, are the question's in
    the question's order and most of them ("1 times 2 is 2" says the 2 again: an answer; "Ghent",
    one word of a question, may be the answer)."""
    words = [word for word in _normal(text).split() if word not in _FILLER]
    asked = [word for word in _normal(question).split() if word not in _FILLER]
    remaining = iter(asked)
    in_order = all(word in remaining for word in words)  # consumes: a subsequence test
    return in_order and len(words) >= max(_SAID_BACK_WORDS, len(asked) // 2)


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
