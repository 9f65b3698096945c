"""The grammar-last sampler on the bundled model: the same greedy tokens as llama-cpp-python's
own grammar sampler, and only what the grammar allows when the model would say something else."""

from __future__ import annotations

import re

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool

from benchmarks.tool_calling import TOOLS
from mcploom.local_models._decoding import grammar as parsed_grammar
from mcploom.local_models._grammar_last import GrammarLastSampler, stock_sampler

pytestmark = pytest.mark.local_model


@pytest.fixture(scope="module")
def llama(default_model_path):
    from mcploom.local_models import ChatLlamaCpp

    return ChatLlamaCpp(model_path=default_model_path)._loaded().llama


def complete(llama, prompt: str, grammar, **sampling) -> str:
    llama.reset()  # a fresh evaluation each time, so both samplers see the same logits
    sampling = {"max_tokens": 64, "temperature": 0.0, "repeat_penalty": 1.1, **sampling}
    return llama.create_completion(prompt, grammar=grammar, stop=["<|im_end|>"], **sampling)["choices"][0]["text"]


def chat(question: str, system: str) -> str:
    return f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"


@pytest.mark.parametrize(
    "question", ["What is 17% of 2350?", "What's the weather in Lyon tomorrow?", "Hello! How are you today?"]
)
def test_greedy_tool_calls_match_the_stock_sampler_token_for_token(llama, question):
    from mcploom.local_models.tool_protocol import ToolProtocol

    protocol = ToolProtocol.build([convert_to_openai_tool(t) for t in TOOLS], "auto", tagged=True)
    prompt = chat(question, protocol.instructions())
    grammar = parsed_grammar(protocol.grammar(None))
    ours = complete(llama, prompt, grammar)
    with stock_sampler(llama):
        stock = complete(llama, prompt, grammar)
        assert not isinstance(llama._init_sampler(grammar=grammar), GrammarLastSampler)  # the stock chain
    assert isinstance(llama._init_sampler(grammar=grammar), GrammarLastSampler)
    assert ours == stock
    assert protocol.parse(ours) is not None


def test_a_token_the_grammar_refuses_is_sampled_again_under_the_grammar(llama):
    from llama_cpp import LlamaGrammar

    # Left free, the model greets back; the grammar allows only a code word and digits.
    grammar = LlamaGrammar.from_string('root ::= "zebra-" [0-9] [0-9] [0-9]', verbose=False)
    text = complete(llama, chat("Say hello to me.", "You are a friendly assistant."), grammar)
    assert re.fullmatch(r"zebra-\d{3}", text), text


def test_sampling_with_temperature_and_top_k_obeys_the_grammar(llama):
    from llama_cpp import LlamaGrammar

    # top-k sorts the candidates in place: every later token must still map back to its own id.
    grammar = LlamaGrammar.from_string(
        'root ::= ("red" | "green" | "blue") (", " ("red" | "green" | "blue"))*', verbose=False
    )
    prompt = chat("List some colours.", "Answer with colour names only.")
    colours = ("red", "green", "blue")
    for seed in range(3):
        text = complete(llama, prompt, grammar, temperature=0.9, top_k=40, seed=seed, max_tokens=12)
        # max_tokens may cut the text anywhere: in the last colour or its separator.
        *items, last = text.rstrip(", ").split(", ")
        assert all(item in colours for item in items) and any(c.startswith(last) for c in colours), (items, last)
