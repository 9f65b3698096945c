"""Tool calls decoded in parts on the bundled model: the fixed text written, the rest generated."""

from __future__ import annotations

import jsonschema
import pytest
from langchain_core.messages import HumanMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from benchmarks.tool_calling import TOOLS
from mcploom.local_models._decoding import Decoding, spelled
from mcploom.local_models.chat_model import _tagged, _template_tools, _to_chat_messages
from mcploom.local_models.tool_protocol import ToolProtocol

pytestmark = pytest.mark.local_model


@pytest.fixture(scope="module")
def model(default_model_path):
    from mcploom.local_models import ChatLlamaCpp

    return ChatLlamaCpp(model_path=default_model_path, max_tokens=96)


def decode(model, question: str, **call) -> tuple[Decoding, ToolProtocol, list[str]]:
    loaded = model._loaded()
    protocol = ToolProtocol.build([convert_to_openai_tool(t) for t in TOOLS], "auto", tagged=_tagged(loaded))
    prompt = loaded.render(
        _to_chat_messages([HumanMessage(question)], protocol, loaded), _template_tools(protocol, loaded)
    )
    tokens = loaded.llama.tokenize(prompt.encode(), add_bos=False, special=True)
    decoding = Decoding(loaded.llama, tokens, [loaded.eos_token], model._sampling({}))
    with loaded.lock:
        pieces = list(decoding.call(protocol, **call))
    return decoding, protocol, pieces


@pytest.mark.parametrize(
    "question", ["What's the weather in Lyon tomorrow?", "What is 17% of 2350?", "Convert 100 US dollars to euros."]
)
def test_a_call_generates_only_its_name_and_values(model, question):
    decoding, protocol, pieces = decode(model, question, max_call_tokens=256)
    assert "".join(pieces) == decoding.output and decoding.finish_reason == "stop"
    reply = protocol.parse(decoding.output)
    assert reply.tool_name is not None, decoding.output
    schema = next(t for t in protocol.tools if t["function"]["name"] == reply.tool_name)["function"]["parameters"]
    jsonschema.validate(reply.arguments, schema)
    llama = model._loaded().llama
    # The head and the closing tag, at least, are written, not generated.
    fixed = len(spelled(llama, protocol.head)) + len(spelled(llama, "</tool_call>"))
    assert decoding.generated <= len(spelled(llama, decoding.output)) - fixed, decoding.output


def test_an_answer_only_retry_writes_the_answer_head_and_generates_the_text(model):
    decoding, protocol, _ = decode(model, "Say hello.", only="respond")
    assert decoding.output.startswith(protocol.head + 'respond", "arguments": {"text":')
    assert protocol.parse(decoding.output).text.strip()


def test_the_token_budget_ends_a_call_with_the_reason(model):
    decoding, protocol, _ = decode(model, "What's the weather in Lyon tomorrow?", max_call_tokens=2)
    assert decoding.finish_reason == "call_length" and decoding.generated == 2
    with pytest.raises(ValueError, match="Incomplete tool call"):
        protocol.parse(decoding.output)


def test_written_text_is_spelled_as_the_grammar_lets_the_model_write_it(model):
    llama = model._loaded().llama
    tokens = spelled(llama, '<tool_call>\n{"name": "respond"')
    assert llama.detokenize(tokens, special=True).decode() == '<tool_call>\n{"name": "respond"'
    assert llama.tokenize(b"<tool_call>", add_bos=False, special=True)[0] not in tokens  # not the special token
    assert spelled(llama, "plain text") == llama.tokenize(b"plain text", add_bos=False, special=True)
