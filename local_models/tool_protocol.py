"""Constrained tool calling for small local models.

Small models are unreliable at choosing between "call a tool" and "answer" in free text:
they write a fenced JSON block, or prose about calling the tool. Measured here on
Qwen2.5-Coder-0.5B, the form that routes well is the model's own tool-call format with
*answering* offered as one more function, listed first, and every reply forced by a grammar
to be exactly one call: ``{"name": <one of the tools>, "arguments": <that tool's schema>}``.
The grammar makes every produced call name a known tool with schema-valid arguments; the
answer text is streamed out of the ``respond`` call as it is generated. :meth:`ToolProtocol.grammar`
is that whole language; ``ChatLlamaCpp`` decodes a call in parts (:attr:`ToolProtocol.head`,
:meth:`ToolProtocol.name_value`, :meth:`ToolProtocol.after_name`) so that only the name and the
argument values are generated (``_decoding.py``).

Example:
    >>> protocol = ToolProtocol.build([{"type": "function", "function": {"name": "add",
    ...     "description": "Add.", "parameters": {"type": "object", "properties": {}}}}], "auto")
    >>> protocol.parse('<tool_call>\\n{"name": "respond", "arguments": {"text": "Hi"}}\\n</tool_call>')
    Reply(text='Hi', tool_name=None, arguments=None)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

__all__ = ["AnswerStreamer", "Reply", "ToolChoice", "ToolProtocol", "Value", "render_tools_section"]

ToolChoice = Literal["auto", "any", "none"] | str
"""``auto``: call a tool or answer; ``any``: must call some tool; ``none``: answer in plain
text; any other value: must call the tool of that name."""

_ANSWER_NAMES = ("respond", "respond_to_user", "final_answer")
_OPEN, _CLOSE = "<tool_call>\n", "\n</tool_call>"
_ARGUMENTS = ', "arguments":'  # what follows the name's closing quote in every call


@dataclass(frozen=True)
class Reply:
    """What the model produced: an answer (``text``) or a tool call (``tool_name`` + ``arguments``)."""

    text: str | None
    tool_name: str | None
    arguments: dict[str, Any] | None


@dataclass(frozen=True)
class Value:
    """A part of a call the model writes (the tool's name, or an argument's JSON value), between fixed text.

    The part ends at the first ``end`` outside a string at the outermost level (``"`` after a name); the
    grammar also lets the model go on into the fixed text that follows, since its tokens often span both
    (``"}`` closes a value and the arguments)."""

    grammar: str
    end: str

    def ends_at(self, text: str) -> int | None:
        """The index just past this part's ``end`` in ``text`` (what was written of it so far), or ``None``."""
        if self.end == '"':
            index = text.find('"')
            return None if index < 0 else index + 1
        depth, in_string, escaped = 0, False, False
        for index, char in enumerate(text):
            if in_string:
                escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
            elif char == '"':
                in_string = True
            elif char in "[{":
                depth += 1
            elif depth and char in "]}":
                depth -= 1
            elif not depth and char == self.end:
                return index + 1
        return None


@dataclass(frozen=True)
class ToolProtocol:
    """The constraint and prompt pieces for one set of bound tools and one ``tool_choice``."""

    tools: tuple[dict[str, Any], ...]
    """Tools offered to the model, in OpenAI function format (the answer pseudo-tool first when allowed)."""
    answer_name: str | None
    """Name of the pseudo-tool that carries an answer, or ``None`` when a real tool call is forced."""
    tagged: bool = True
    """Whether calls are wrapped in ``<tool_call>`` tags (Qwen and Hermes style templates)."""
    forced: str | None = None
    """The one tool every reply calls (a named ``tool_choice``), or ``None``. The prompt still shows
    every tool, as ``auto`` does, so a run's forced first turn and its free later turns share their
    prompt's start, and llama.cpp evaluates it once (measured: a prompt listing only the forced tool
    made each such task ~5 s slower on 2 cores, 0.5B)."""

    @classmethod
    def build(cls, tools: list[dict[str, Any]], tool_choice: ToolChoice, *, tagged: bool = True) -> ToolProtocol:
        """Build the protocol for OpenAI-format ``tools`` and a ``tool_choice``.

        Raises:
            ValueError: ``tool_choice`` names a tool that is not bound.
        """
        names = [tool["function"]["name"] for tool in tools]
        if tool_choice not in ("auto", "any", "required", "none") and tool_choice not in names:
            raise ValueError(f"tool_choice={tool_choice!r} is not one of the bound tools {names}.")
        if tool_choice not in ("auto", "any", "required"):
            return replace(cls.build(tools, "auto", tagged=tagged), forced=tool_choice)
        if tool_choice != "auto":
            return cls(tuple(tools), None, tagged)
        answer_name = next(name for name in _ANSWER_NAMES if name not in names)
        answer_tool = {
            "type": "function",
            "function": {
                "name": answer_name,
                "description": (
                    "Reply to the user directly: for greetings, chit-chat, general knowledge, writing, or when "
                    "earlier tool results already answer the question."
                ),
                "parameters": {
                    "type": "object",
                    "properties": {"text": {"type": "string", "description": "The reply."}},
                    "required": ["text"],
                },
            },
        }
        return cls((answer_tool, *tools), answer_name, tagged)

    def instructions(self) -> str:
        """The rule appended to the system prompt; measured to matter as much as the grammar."""
        if self.answer_name is None:
            return "Each reply is exactly one function call."
        return (
            f"Each reply is exactly one function call. Use {self.answer_name} to answer the user directly: for "
            "greetings, chit-chat, general knowledge, writing, or when earlier tool results already answer the "
            "question. Call another function only when the request needs what that function does."
        )

    def grammar(self, only: str | None = None) -> str:
        """GBNF grammar accepting exactly one call of one of ``tools`` (or of the tool ``only``, or the
        forced one) with schema-valid arguments."""
        from llama_cpp.llama_grammar import json_schema_to_gbnf

        only = only or self.forced

        schema = {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "name": {"const": tool["function"]["name"]},
                        "arguments": _arguments_schema(tool["function"].get("parameters")),
                    },
                    "required": ["name", "arguments"],
                }
                for tool in self.tools
                if only is None or tool["function"]["name"] == only
            ]
        }
        rules = json_schema_to_gbnf(json.dumps(schema), prop_order=["name", "arguments"])
        if not self.tagged:
            return rules
        return f'root ::= "{_gbnf_escape(_OPEN)}" call "{_gbnf_escape(_CLOSE)}"\n' + rules.replace(
            "root ::=", "call ::=", 1
        )

    @property
    def head(self) -> str:
        """The fixed start of every reply, up to the tool's name."""
        return (_OPEN if self.tagged else "") + '{"name": "'

    def names(self, only: str | None = None) -> list[str]:
        """The names a reply may call: every tool's, or just ``only`` (or the forced one)."""
        only = only or self.forced
        return [t["function"]["name"] for t in self.tools if only is None or t["function"]["name"] == only]

    def name_value(self, names: list[str]) -> Value:
        """The tool's name as a part the model writes, one of ``names``."""
        choices = " | ".join(f'"{_gbnf_escape(name)}"' for name in names)
        # The grammar lets a token run on into the text that follows the name in every call.
        return Value(f'root ::= ({choices}) "\\"" {_prefix_of(_ARGUMENTS)}', '"')

    def after_name(self, name: str) -> list[str | Value]:
        """The rest of a call of ``name`` after its name's closing quote: fixed text and the values the
        model writes, alternating; the last item is the fixed text that closes the call."""
        from llama_cpp.llama_grammar import json_schema_to_gbnf

        tool = next(t for t in self.tools if t["function"]["name"] == name)
        schema = _arguments_schema(tool["function"].get("parameters"))
        properties = schema.get("properties") or {}
        close = _CLOSE if self.tagged else ""
        # An object whose keys are all required has them in a fixed order (llama.cpp's converter writes
        # required keys first, in their order), so only the values are the model's to write.
        if not (set(properties) <= set(schema.get("required") or ()) and not schema.get("additionalProperties")):
            values, texts = [(schema, "}")], [_ARGUMENTS, close]
        elif not properties:
            return [_ARGUMENTS + " {}}" + close]
        else:
            shared = {key: schema[key] for key in ("$defs", "definitions") if key in schema}
            keys = list(properties)
            values = [({**properties[key], **shared}, "," if key != keys[-1] else "}") for key in keys]
            texts = [f"{_ARGUMENTS} {{{json.dumps(keys[0])}:"]
            texts += [f" {json.dumps(key)}:" for key in keys[1:]] + ["}" + close]
        parts: list[str | Value] = [texts[0]]
        for (value, end), then in zip(values, texts[1:], strict=True):
            rules = json_schema_to_gbnf(json.dumps(value)).replace("root ::=", "segment-value ::=", 1)
            parts.append(Value(f'root ::= " "? segment-value "{_gbnf_escape(end)}" {_prefix_of(then)}\n{rules}', end))
            parts.append(then)
        return parts

    def parse(self, text: str) -> Reply:
        """Read one grammar-constrained reply.

        Raises:
            ValueError: The reply is not a complete call (it was cut off by the token limit).
        """
        body = text.strip()
        if self.tagged:
            body = body.removeprefix(_OPEN.strip()).removesuffix(_CLOSE.strip()).strip()
        try:
            # strict=False: the grammar lets control characters (a raw newline in SQL) into strings.
            call = json.loads(body, strict=False)
        except json.JSONDecodeError as exc:
            raise ValueError(f"Incomplete tool call (raise max_tokens?): {exc.msg} in {text[:200]!r}") from None
        name, arguments = call["name"], call.get("arguments") or {}
        if name == self.answer_name:
            return Reply(text=arguments.get("text", ""), tool_name=None, arguments=None)
        return Reply(text=None, tool_name=name, arguments=arguments)

    def streamer(self) -> AnswerStreamer:
        """A fresh incremental reader that yields the answer text of a ``respond`` call as it arrives."""
        return AnswerStreamer(self.answer_name)


GRAMMAR_MAX_REPEAT = 64
"""Largest ``maxLength`` / ``maxItems`` / ``maxProperties`` written into a grammar. llama.cpp's
converter spells a bound of n as n nested optional rules: ``maxLength: 100000`` (the sql server's
``query``) became ~800 KB of grammar and crashed llama.cpp's parser (SIGSEGV). Larger bounds are
dropped: the tool validates its arguments anyway, and the token limit bounds the reply."""

_BOUNDS = ("maxLength", "maxItems", "maxProperties")


def _arguments_schema(parameters: dict[str, Any] | None) -> dict[str, Any]:
    if not parameters or not parameters.get("properties"):
        return {"type": "object", "properties": {}}
    return _without_large_bounds(parameters)


def _without_large_bounds(schema: Any) -> Any:
    """``schema`` with every bound above :data:`GRAMMAR_MAX_REPEAT` removed, at any depth."""
    if isinstance(schema, list):
        return [_without_large_bounds(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        key: _without_large_bounds(value)
        for key, value in schema.items()
        if not (key in _BOUNDS and isinstance(value, int) and value > GRAMMAR_MAX_REPEAT)
    }


def _prefix_of(text: str) -> str:
    """A GBNF expression matching any prefix of ``text``, the empty one included."""
    expression = ""
    for char in reversed(text):
        expression = f'("{_gbnf_escape(char)}"{" " + expression if expression else ""})?'
    return expression


def _gbnf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class AnswerStreamer:
    """Incrementally decodes the JSON string ``text`` of an answer call from generated pieces.

    ``feed`` returns the newly decoded answer text ('' while the call's head is still arriving,
    or when the reply turns out to be a real tool call).
    """

    def __init__(self, answer_name: str | None) -> None:
        self._head = (
            re.compile(
                r'\s*(?:<tool_call>\s*)?\{\s*"name"\s*:\s*"' + re.escape(answer_name) + r'"\s*,\s*"arguments"\s*:'
                r'\s*\{\s*"text"\s*:\s*"'
            )
            if answer_name
            else None
        )
        self._buffer = ""
        self._pos: int | None = None  # index in _buffer where undecoded answer text starts
        self._done = False

    @property
    def answering(self) -> bool:
        """Whether the reply is known to be an answer."""
        return self._pos is not None

    def feed(self, piece: str) -> str:
        self._buffer += piece
        if self._done or self._head is None:
            return ""
        if self._pos is None:
            match = self._head.match(self._buffer)
            if match is None:
                return ""
            self._pos = match.end()
        out: list[str] = []
        i, buf = self._pos, self._buffer
        while i < len(buf):
            char = buf[i]
            if char == '"':
                self._done = True
                break
            if char != "\\":
                out.append(char)
                i += 1
                continue
            if i + 1 >= len(buf):
                break  # escape split across pieces: wait for the rest
            code = buf[i + 1]
            if code == "u":
                width = 12 if 0xD800 <= _hex(buf[i + 2 : i + 6]) <= 0xDBFF else 6  # surrogate pair
                if i + width > len(buf):
                    break
                out.append(json.loads(f'"{buf[i : i + width]}"'))
                i += width
            else:
                out.append(_ESCAPES.get(code, code))
                i += 2
        self._pos = i
        return "".join(out)


def _hex(digits: str) -> int:
    try:
        return int(digits, 16)
    except ValueError:  # fewer than 4 digits have arrived yet
        return 0xD800


def render_tools_section(tools: tuple[dict[str, Any], ...], *, tagged: bool) -> str:
    """A tools section for templates that cannot render ``tools`` themselves (Hermes/Qwen wording)."""
    listing = "\n".join(json.dumps(tool, ensure_ascii=False) for tool in tools)
    call = '{"name": <function-name>, "arguments": <args-json-object>}'
    wrapped = f"<tool_call>\n{call}\n</tool_call>" if tagged else call
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        f"You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{listing}\n</tools>\n\n"
        f"For each function call, return a json object with function name and arguments:\n{wrapped}"
    )
