"""The tool-call protocol: grammar shape, reply parsing and streamed answer decoding (no model)."""

from __future__ import annotations

import json

import pytest

from mcploom.local_models.tool_protocol import AnswerStreamer, ToolProtocol, render_tools_section


def fn(name: str, **properties: dict) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{name} tool",
            "parameters": {"type": "object", "properties": properties, "required": list(properties)},
        },
    }


CALC = fn("calculate", expression={"type": "string"})
WEATHER = fn("get_weather", city={"type": "string"}, unit={"type": "string", "enum": ["celsius", "fahrenheit"]})


def test_auto_offers_the_answer_first_and_any_does_not():
    auto = ToolProtocol.build([CALC, WEATHER], "auto")
    assert [t["function"]["name"] for t in auto.tools] == ["respond", "calculate", "get_weather"]
    assert auto.answer_name == "respond" and "Use respond to answer" in auto.instructions()
    forced = ToolProtocol.build([CALC, WEATHER], "any")
    assert forced.answer_name is None and [t["function"]["name"] for t in forced.tools] == ["calculate", "get_weather"]
    assert forced.instructions() == "Each reply is exactly one function call."


def test_a_named_tool_choice_allows_only_that_tool_under_the_auto_prompt():
    protocol = ToolProtocol.build([CALC, WEATHER], "get_weather")
    auto = ToolProtocol.build([CALC, WEATHER], "auto")
    # The same prompt as auto, so a forced first turn and the free turns after it share its start.
    assert protocol.tools == auto.tools and protocol.instructions() == auto.instructions()
    assert protocol.names() == ["get_weather"] and protocol.names("respond") == ["respond"]
    assert "get_weather" in protocol.grammar() and "calculate" not in protocol.grammar()


def test_unknown_tool_choice_is_rejected_with_the_bound_names():
    with pytest.raises(ValueError, match=r"tool_choice='search' is not one of the bound tools \['calculate'\]"):
        ToolProtocol.build([CALC], "search")


def test_answer_name_avoids_a_real_tool_called_respond():
    protocol = ToolProtocol.build([fn("respond", x={"type": "string"})], "auto")
    assert protocol.answer_name == "respond_to_user"


def test_grammar_names_each_tool_and_wraps_calls_in_tags():
    grammar = ToolProtocol.build([CALC, WEATHER], "auto").grammar()
    assert grammar.startswith('root ::= "<tool_call>\\n" call "\\n</tool_call>"')
    for name in ("respond", "calculate", "get_weather"):
        assert f'"\\"{name}\\""' in grammar
    assert '"\\"celsius\\""' in grammar  # enum values are part of the constraint
    only = ToolProtocol.build([CALC, WEATHER], "auto").grammar(only="respond")
    assert "calculate" not in only and "respond" in only


def test_grammar_compiles_in_llama_cpp():
    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    llama_grammar.LlamaGrammar.from_string(ToolProtocol.build([CALC, WEATHER], "auto").grammar(), verbose=False)


def test_large_length_bounds_stay_out_of_the_grammar_and_small_ones_stay_in():
    """``maxLength: 100000`` (the sql server's query) once made ~800 KB of grammar that crashed llama.cpp."""
    query = fn(
        "query",
        sql={"type": "string", "maxLength": 100_000},
        tags={"type": "array", "items": {"type": "string", "maxLength": 8}, "maxItems": 10_000},
    )
    grammar = ToolProtocol.build([query], "auto").grammar()
    assert len(grammar) < 20_000
    assert '(char (char (char (char (char (char (char (char)?)?)?)?)?)?)?)? "\\""' in grammar  # maxLength 8 kept
    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    llama_grammar.LlamaGrammar.from_string(grammar, verbose=False)


def test_parse_reads_answers_and_calls():
    protocol = ToolProtocol.build([CALC], "auto")
    answer = protocol.parse('<tool_call>\n{"name": "respond", "arguments": {"text": "Paris."}}\n</tool_call>')
    assert (answer.text, answer.tool_name) == ("Paris.", None)
    call = protocol.parse('<tool_call>\n{"name": "calculate", "arguments": {"expression": "6*7"}}\n</tool_call>')
    assert (call.tool_name, call.arguments) == ("calculate", {"expression": "6*7"})


def test_parse_accepts_raw_control_characters_the_grammar_lets_through():
    protocol = ToolProtocol.build([fn("query", sql={"type": "string"})], "auto")
    reply = protocol.parse('<tool_call>\n{"name": "query", "arguments": {"sql": "SELECT 1\nFROM t"}}\n</tool_call>')
    assert reply.arguments == {"sql": "SELECT 1\nFROM t"}


def test_parse_of_a_cut_off_call_says_so():
    with pytest.raises(ValueError, match="Incomplete tool call"):
        ToolProtocol.build([CALC], "auto").parse('<tool_call>\n{"name": "calculate", "argu')


def stream(streamer: AnswerStreamer, text: str, size: int) -> str:
    return "".join(streamer.feed(text[i : i + size]) for i in range(0, len(text), size))


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_streamer_decodes_the_answer_text_at_any_piece_size(size):
    answer = 'Line one\nsays "hi" \\ and café 😀 — done'
    text = '<tool_call>\n{"name": "respond", "arguments": {"text": ' + json.dumps(answer) + "}}\n</tool_call>"
    streamer = ToolProtocol.build([CALC], "auto").streamer()
    assert stream(streamer, text, size) == answer
    assert streamer.answering


def test_streamer_yields_nothing_for_a_tool_call():
    text = '<tool_call>\n{"name": "calculate", "arguments": {"expression": "1+1"}}\n</tool_call>'
    streamer = ToolProtocol.build([CALC], "auto").streamer()
    assert stream(streamer, text, 2) == "" and not streamer.answering


def test_tools_section_for_templates_without_tool_support():
    section = render_tools_section((CALC,), tagged=True)
    assert '"name": "calculate"' in section and "<tool_call>" in section


def _fill(parts, values) -> str:
    """A call written from ``after_name``'s parts, each value part given as JSON text."""
    values = iter(values)
    return "".join(part if isinstance(part, str) else next(values) + part.end for part in parts)


def test_a_call_with_required_keys_leaves_only_the_values_to_the_model():
    protocol = ToolProtocol.build([CALC, WEATHER], "auto")
    parts = protocol.after_name("get_weather")
    assert [type(part).__name__ for part in parts] == ["str", "Value", "str", "Value", "str"]
    assert parts[0] == ', "arguments": {"city":' and parts[2] == ' "unit":'
    text = protocol.head + "get_weather" + '"' + _fill(parts, [' "Lyon"', ' "celsius"'])
    assert text.endswith("}}\n</tool_call>")
    assert protocol.parse(text).arguments == {"city": "Lyon", "unit": "celsius"}


def test_optional_keys_leave_the_whole_arguments_object_to_the_model():
    search = fn("search", query={"type": "string"}, k={"type": "integer"})
    search["function"]["parameters"]["required"] = ["query"]
    protocol = ToolProtocol.build([search], "auto")
    parts = protocol.after_name("search")
    assert len(parts) == 3 and parts[1].end == "}"
    assert protocol.parse(protocol.head + 'search"' + _fill(parts, [' {"query": "x"}'])).arguments == {"query": "x"}


def test_a_tool_without_parameters_is_written_whole():
    protocol = ToolProtocol.build([fn("list_tables")], "auto")
    assert protocol.after_name("list_tables") == [', "arguments": {}}\n</tool_call>']


def test_definitions_go_with_each_value_that_may_refer_to_them():
    unit = fn("set_unit", unit={"$ref": "#/$defs/Unit"})
    unit["function"]["parameters"]["$defs"] = {"Unit": {"type": "string", "enum": ["c", "f"]}}
    value = ToolProtocol.build([unit], "auto").after_name("set_unit")[1]
    assert '"\\"c\\""' in value.grammar


@pytest.mark.parametrize(
    ("written", "end", "index"),
    [
        (' "a, b} \\" c",', ",", 14),  # separators and an escaped quote inside the string
        (' {"x": [1, {"y": 2}]}}', "}", 22),  # the object's own braces are not its end
        (" 42}", "}", 4),
        (' "unfinished, still', ",", None),
        ('calculate", "arg', '"', 10),  # a name ends at its quote; what follows is the fixed text
    ],
)
def test_a_value_ends_at_its_end_character_outside_strings_and_brackets(written, end, index):
    from mcploom.local_models.tool_protocol import Value

    assert Value("", end).ends_at(written) == index


def test_every_part_grammar_parses_in_llama_cpp():
    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    protocol = ToolProtocol.build([CALC, WEATHER], "auto")
    values = [protocol.name_value(protocol.names())]
    values += [part for name in protocol.names() for part in protocol.after_name(name) if not isinstance(part, str)]
    for value in values:
        llama_grammar.LlamaGrammar.from_string(value.grammar, verbose=False)
