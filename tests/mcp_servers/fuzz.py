"""What the fuzz tests send and what they check: raw JSON-RPC lines and tool arguments drawn by
hypothesis, each followed by a ``ping`` whose answer marks where the server's replies to that
input end, so every input is judged by exactly the lines it caused.

The verdict for one input (:func:`check_replies`): every line the server wrote is a JSON-RPC 2.0
message; a request with a valid id got exactly one response with that id; anything else that
was owed an answer (a line that is not JSON, a request with an id JSON-RPC forbids) got one
error with id null; nothing else was answered; and the server then answered the ping.
"""

from __future__ import annotations

import json
from itertools import count
from typing import Any

import mcp_types as types
from hypothesis import strategies as st
from pydantic import ValidationError

from .test_transports import RawStdio

METHODS = [
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "initialize",
    "notifications/cancelled",
    "notifications/progress",
]

_ids = count()


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)

ids = st.one_of(st.integers(), st.text(max_size=12), st.floats(allow_nan=False), st.booleans(), st.none(), json_values)


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON object shaped more or less like a JSON-RPC message."""
    message: dict[str, Any] = {}
    if draw(st.booleans()):
        message["jsonrpc"] = draw(st.sampled_from(["2.0", "2.0", "1.0", 2]))
    if draw(st.integers(0, 9)) > 0:
        message["method"] = draw(st.sampled_from(METHODS) | st.text(max_size=20))
    if draw(st.integers(0, 9)) > 1:
        message["id"] = draw(ids)
    if draw(st.booleans()):
        message["params"] = draw(json_values)
    if draw(st.integers(0, 9)) == 0:
        message[draw(st.text(max_size=8))] = draw(json_values)
    return message


def _one_line(text: str) -> str:
    # The server reads universal newlines: \n, \r and \r\n all end a line.
    return text.replace("\r", " ").replace("\n", " ")


raw_lines = st.one_of(
    messages().map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=200).map(_one_line),
    st.binary(max_size=200).map(lambda data: _one_line(data.decode("utf-8", errors="replace"))),
)
"""One input line: a near-JSON-RPC object, any JSON value, or any text."""


def expected_reply(line: str) -> tuple[str, Any]:
    """What a correct server owes ``line``: ``("response", id)`` (one answer with that id: a result
    or an error), ``("error", None)`` (one error with id null) or ``("none", None)``.

    A line with a ``method`` and a valid ``id`` is a request whose id can be read, so whatever is
    wrong with it the answer carries that id; otherwise validity is the SDK's own model of a
    JSON-RPC message (a valid notification or response is owed nothing).
    """
    if not line.strip():
        return "none", None  # the SDK skips blank lines
    try:
        message = json.loads(line)
    except ValueError:
        return "error", None
    if isinstance(message, dict) and "method" in message and "id" in message:
        return ("response", message["id"]) if _valid_id(message["id"]) else ("error", None)
    try:
        types.jsonrpc_message_adapter.validate_python(message, by_name=False)
    except ValidationError:
        return "error", None
    return "none", None


def check_replies(server: RawStdio, line: str) -> None:
    """Send ``line`` then a ping; assert the lines in between are what :func:`expected_reply` says."""
    expected, sent_id = expected_reply(line)
    before = len(server.lines)
    server.send(line.encode("utf-8"))
    ping_id = f"fuzz-ping-{next(_ids)}"  # a text id no strategy draws, so no reply can pass for it
    pong = server.request(ping_id, "ping")
    assert pong.get("result") == {}, pong
    replies = [json.loads(raw) for raw in server.lines[before:-1]]
    for reply in replies:
        assert reply.get("jsonrpc") == "2.0" and ("method" in reply or ("id" in reply)), reply
    answers = [reply for reply in replies if "method" not in reply]  # notifications aside
    if expected == "response":
        assert [reply.get("id") for reply in answers] == [sent_id], (line, answers)
        assert ("result" in answers[0]) != ("error" in answers[0]), answers[0]
    elif expected == "error":
        assert len(answers) == 1 and answers[0]["id"] is None and "error" in answers[0], (line, answers)
    else:
        assert answers == [], (line, answers)


def check_tool_call(server: RawStdio, name: str, arguments: Any) -> None:
    """Call tool ``name`` with ``arguments``; assert one answer, a result or an error, and a live server."""
    call_id = f"fuzz-call-{next(_ids)}"
    reply = server.request(call_id, "tools/call", {"name": name, "arguments": arguments})
    assert ("result" in reply) != ("error" in reply), reply
    if "result" in reply:
        assert isinstance(reply["result"].get("content"), list), reply


def from_schema(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """Values valid against a tool's input schema: the JSON Schema our servers' tools use (types,
    ``anyOf``, ``enum``/``const``, bounds, ``properties``/``required``, ``items``, ``$ref``)."""
    defs = schema.get("$defs", defs or {})
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of(*(from_schema(option, defs) for option in schema["anyOf"]))
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of(*(from_schema({**schema, "type": one}, defs) for one in kind))
    if kind == "string":
        return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 80), 80))
    if kind == "integer":
        low = schema.get("minimum", schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else -(10**6))
        high = schema.get("maximum", schema["exclusiveMaximum"] - 1 if "exclusiveMaximum" in schema else 10**6)
        return st.integers(low, high)
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), defs), max_size=4)
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {name: from_schema(sub, defs) for name, sub in properties.items() if name in required},
            optional={name: from_schema(sub, defs) for name, sub in properties.items() if name not in required},
        )
    return json_values
