"""Model specs: parsing, error messages, and the real frontier SDKs against local wire-format servers.

The frontier tests run langchain-anthropic / langchain-openai and the official SDKs under them,
unpatched, against ``ScriptedServer`` (``wire_servers.py``) through ``ANTHROPIC_BASE_URL`` /
``OPENAI_BASE_URL``. Nothing here loads a model: ``test_models_local.py`` runs the specs on
real llama.cpp servers and in-process GGUF models.
"""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage
from langchain_core.tools import tool

import mcploom.agents.models
from mcploom.agents.errors import ConfigError, MissingAPIKeyError
from mcploom.agents.models import SPEC_FORMS, ModelSpec, load_chat_model
from mcploom.local_models import ChatLlamaCpp, ModelLoadError
from tests.agents.wire_servers import AnthropicReply, OpenAIReply, RecordedRequest, ScriptedServer, ToolCall

REPO_ROOT = Path(__file__).resolve().parents[2]
CLAUDE = "claude-haiku-5-5"
GPT = "gpt-4.1-mini"


@tool
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Current weather in a city."""
    return f"18 degrees {unit} in {city}"


@pytest.fixture
def frontier_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Keys set to test values and no base-URL variables from the caller's shell."""
    for var in ("ANTHROPIC_API_URL", "ANTHROPIC_BASE_URL", "OPENAI_API_BASE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test-key")
    monkeypatch.delenv("OPENAI_COMPATIBLE_API_KEY", raising=False)
    return monkeypatch


def sent_anthropic_key(request: RecordedRequest) -> str | None:
    """The API key an Anthropic SDK sent: ``x-api-key`` (1.x SDKs) or a bearer token (2.x)."""
    if "x-api-key" in request.headers:
        return request.headers["x-api-key"]
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme == "Bearer" else None


def merge(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    """The message the stream's chunks add up to."""
    assert chunks, "the stream yielded nothing"
    return sum(chunks[1:], chunks[0])


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("local", ModelSpec("local")),
        ("local:qwen2.5-coder-0.5b", ModelSpec("local", "qwen2.5-coder-0.5b")),
        ("gguf:/models/x.gguf", ModelSpec("gguf", "/models/x.gguf")),
        ("anthropic:claude-sonnet-5-5", ModelSpec("anthropic", "claude-sonnet-5-5")),
        ("openai:gpt-5.5", ModelSpec("openai", "gpt-5.5")),
        (
            "openai-compatible:http://127.0.0.1:8080/v1#qwen2.5:0.5b",
            ModelSpec("openai-compatible", "qwen2.5:0.5b", "http://127.0.0.1:8080/v1"),
        ),
    ],
)
def test_parse_each_form_and_print_it_back(text: str, expected: ModelSpec) -> None:
    spec = ModelSpec.parse(text)
    assert spec == expected
    assert str(spec) == text


def test_parse_ignores_whitespace_and_backend_case() -> None:
    assert ModelSpec.parse("  Anthropic:claude-x  ") == ModelSpec("anthropic", "claude-x")
    assert ModelSpec.parse("LOCAL") == ModelSpec("local")
    assert ModelSpec.parse("local:") == ModelSpec("local")


def test_parse_keeps_colons_and_slashes_in_names() -> None:
    assert ModelSpec.parse("gguf:C:/models/q.gguf").name == "C:/models/q.gguf"
    spec = ModelSpec.parse("openai-compatible:https://llm.example.com:8443/v1/#org/model-7b")
    assert (spec.base_url, spec.name) == ("https://llm.example.com:8443/v1", "org/model-7b")


def test_docstring_examples_run() -> None:
    result = doctest.testmod(mcploom.agents.models)
    assert result.attempted >= 4
    assert result.failed == 0


def test_module_import_leaves_heavy_clients_unloaded() -> None:
    code = (
        "import sys, mcploom.agents.models; "
        "print([m for m in ('langchain_anthropic', 'langchain_openai', 'llama_cpp', 'anthropic', 'openai') "
        "if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert result.stdout.strip() == "[]"


# --- error messages ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["claude:opus", "ollama:llama3", "gpt-4o"])
def test_unknown_backend_lists_every_valid_form(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ModelSpec.parse(text)
    message = str(caught.value)
    assert repr(text) in message
    for form in SPEC_FORMS:
        assert form in message


def test_bare_gguf_path_suggests_the_gguf_prefix() -> None:
    with pytest.raises(ConfigError, match=r"no backend prefix\. Did you mean gguf:/m/x\.gguf\?"):
        ModelSpec.parse("/m/x.gguf")


def test_empty_spec_says_it_is_empty() -> None:
    with pytest.raises(ConfigError, match=r"the spec is empty\. Use one of: local, "):
        ModelSpec.parse("   ")


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("anthropic:", "Write anthropic:<model>, e.g. anthropic:claude-sonnet-5-5."),
        ("openai: ", "Write openai:<model>, e.g. openai:gpt-5.5."),
        ("gguf:", "the GGUF file path after 'gguf:' is missing. Write gguf:<path>"),
    ],
)
def test_missing_model_name_shows_the_form(text: str, fix: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ModelSpec.parse(text)
    assert fix in str(caught.value)


@pytest.mark.parametrize(
    "rest",
    [
        "http://127.0.0.1:8080/v1",  # no model
        "http://127.0.0.1:8080/v1#",  # empty model
        "#qwen",  # no URL
        "127.0.0.1:8080/v1#qwen",  # no scheme
        "ftp://host/v1#qwen",  # not http(s)
        "http://#qwen",  # no host
    ],
)
def test_bad_openai_compatible_spec_shows_the_expected_form(rest: str) -> None:
    text = f"openai-compatible:{rest}"
    with pytest.raises(ConfigError) as caught:
        ModelSpec.parse(text)
    message = str(caught.value)
    assert message.startswith(f"At model spec {text!r}: expected openai-compatible:<base_url>#<model>")
    assert "e.g. openai-compatible:http://127.0.0.1:8080/v1#qwen2.5" in message


def test_missing_gguf_file_names_the_path(tmp_path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(ConfigError) as caught:
        load_chat_model(f"gguf:{missing}")
    assert f"no GGUF file at {missing}." in str(caught.value)


def test_gguf_path_that_is_a_directory_is_refused(tmp_path) -> None:
    with pytest.raises(ConfigError, match="no GGUF file at"):
        load_chat_model(f"gguf:{tmp_path}")


@pytest.mark.parametrize(
    ("spec", "var"),
    [(f"anthropic:{CLAUDE}", "ANTHROPIC_API_KEY"), (f"openai:{GPT}", "OPENAI_API_KEY")],
)
def test_missing_api_key_names_the_variable_and_how_to_set_it(
    frontier_env: pytest.MonkeyPatch, spec: str, var: str
) -> None:
    frontier_env.delenv(var)
    with pytest.raises(MissingAPIKeyError) as caught:
        load_chat_model(spec)
    message = str(caught.value)
    assert f"the environment variable {var} is not set" in message
    assert f"export {var}=..." in message
    assert isinstance(caught.value, ConfigError)


def test_empty_api_key_counts_as_missing(frontier_env: pytest.MonkeyPatch) -> None:
    frontier_env.setenv("OPENAI_API_KEY", "")
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY"):
        load_chat_model(f"openai:{GPT}")


@pytest.mark.parametrize(
    ("spec", "option", "message"),
    [
        (f"anthropic:{CLAUDE}", {"n_ctx": 4096}, "option n_ctx applies only to local models"),
        (f"openai:{GPT}", {"n_gpu_layers": -1}, "option n_gpu_layers applies only to local models"),
        ("openai-compatible:http://h:1/v1#m", {"n_threads": 2}, "option n_threads applies only to local"),
        ("gguf:/m/x.gguf", {"api_key": "k"}, "option api_key applies only to frontier and openai-compatible"),
        (f"anthropic:{CLAUDE}", {"seed": 7}, "Anthropic's Messages API has no 'seed' option"),
        (
            "openai-compatible:http://h:1/v1#m",
            {"base_url": "http://other/v1"},
            "base_url='http://other/v1' conflicts with the URL in the spec",
        ),
    ],
)
def test_options_that_do_not_apply_are_refused(
    frontier_env: pytest.MonkeyPatch, spec: str, option: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_chat_model(spec, **option)


# --- Anthropic Messages API ----------------------------------------------------------------


def test_anthropic_plain_turn(frontier_env: pytest.MonkeyPatch) -> None:
    with ScriptedServer(AnthropicReply(text="Bonjour!", input_tokens=25, output_tokens=4)) as server:
        frontier_env.setenv("ANTHROPIC_BASE_URL", server.base_url)
        model = load_chat_model(f"anthropic:{CLAUDE}", temperature=0.2, max_tokens=100, stop=["\n\n"])
        reply = model.invoke([SystemMessage("Answer in French."), HumanMessage("Say hello.")])

    (request,) = server.requests
    assert request.path == "/v1/messages"
    assert sent_anthropic_key(request) == "sk-ant-test-key"
    assert request.headers["anthropic-version"]
    assert request.body["model"] == CLAUDE
    assert request.body["system"] == "Answer in French."
    assert request.body["messages"] == [{"role": "user", "content": "Say hello."}]
    assert (request.body["max_tokens"], request.body["temperature"]) == (100, 0.2)
    assert request.body["stop_sequences"] == ["\n\n"]
    assert "stream" not in request.body or request.body["stream"] is False

    assert reply.content == "Bonjour!"
    assert reply.tool_calls == []
    assert reply.response_metadata["stop_reason"] == "end_turn"
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == 25
    assert reply.usage_metadata["output_tokens"] == 4
    assert reply.usage_metadata["total_tokens"] == 29


def test_anthropic_tool_call_round_trip(frontier_env: pytest.MonkeyPatch) -> None:
    call = ToolCall("toolu_01A09q90qw90lq917835lq9", "get_weather", {"city": "Paris", "unit": "celsius"})
    script = (AnthropicReply(text="Let me check.", tool_calls=(call,)), AnthropicReply(text="18 degrees."))
    with ScriptedServer(*script) as server:
        frontier_env.setenv("ANTHROPIC_BASE_URL", server.base_url)
        model = load_chat_model(f"anthropic:{CLAUDE}").bind_tools([get_weather])
        first = model.invoke([HumanMessage("Weather in Paris?")])
        observation = get_weather.invoke(first.tool_calls[0])
        final = model.invoke([HumanMessage("Weather in Paris?"), first, observation])

    assert first.tool_calls == [{"name": "get_weather", "args": call.args, "id": call.id, "type": "tool_call"}]
    assert first.response_metadata["stop_reason"] == "tool_use"
    assert final.content == "18 degrees."

    sent_tools = server.requests[0].body["tools"]
    assert [t["name"] for t in sent_tools] == ["get_weather"]
    assert sent_tools[0]["description"] == "Current weather in a city."
    schema = sent_tools[0]["input_schema"]
    assert schema["type"] == "object"
    assert schema["required"] == ["city"]
    assert schema["properties"]["city"]["type"] == "string"
    assert schema["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]

    assistant, tool_result = server.requests[1].body["messages"][1:]
    assert assistant["role"] == "assistant"
    assert {"type": "tool_use", "id": call.id, "name": "get_weather", "input": call.args} in assistant["content"]
    assert tool_result["role"] == "user"
    (result_block,) = tool_result["content"]
    assert result_block["type"] == "tool_result"
    assert result_block["tool_use_id"] == call.id
    assert "18 degrees celsius in Paris" in json.dumps(result_block["content"])


def test_anthropic_streams_text_deltas_and_usage(frontier_env: pytest.MonkeyPatch) -> None:
    text = "Streaming works fine."
    with ScriptedServer(AnthropicReply(text=text, input_tokens=12, output_tokens=6)) as server:
        frontier_env.setenv("ANTHROPIC_BASE_URL", server.base_url)
        chunks = list(load_chat_model(f"anthropic:{CLAUDE}").stream("Stream something."))

    assert server.requests[0].body["stream"] is True
    text_chunks = [c for c in chunks if c.text]
    assert len(text_chunks) == 6  # text_delta events of 4 characters each
    merged = merge(chunks)
    assert merged.text == text
    assert merged.usage_metadata is not None
    assert (merged.usage_metadata["input_tokens"], merged.usage_metadata["output_tokens"]) == (12, 6)
    assert merged.response_metadata["stop_reason"] == "end_turn"


def test_anthropic_streams_tool_use_with_partial_json(frontier_env: pytest.MonkeyPatch) -> None:
    calls = (
        ToolCall("toolu_01", "get_weather", {"city": "Paris", "unit": "fahrenheit"}),
        ToolCall("toolu_02", "get_weather", {"city": "Oslo"}),
    )
    with ScriptedServer(AnthropicReply(text="Checking both.", tool_calls=calls)) as server:
        frontier_env.setenv("ANTHROPIC_BASE_URL", server.base_url)
        model = load_chat_model(f"anthropic:{CLAUDE}").bind_tools([get_weather], tool_choice="any")
        chunks = list(model.stream("Weather in Paris and Oslo?"))

    assert server.requests[0].body["stream"] is True
    assert server.requests[0].body["tool_choice"] == {"type": "any"}
    assert [t["name"] for t in server.requests[0].body["tools"]] == ["get_weather"]
    fragments = [tc["args"] for c in chunks for tc in c.tool_call_chunks if tc["args"]]
    assert len(fragments) > 4  # the arguments arrived as several input_json_delta pieces
    merged = merge(chunks)
    assert [(tc["id"], tc["name"], tc["args"]) for tc in merged.tool_calls] == [(c.id, c.name, c.args) for c in calls]
    assert merged.response_metadata["stop_reason"] == "tool_use"


async def test_anthropic_async_invoke_and_stream(frontier_env: pytest.MonkeyPatch) -> None:
    with ScriptedServer(AnthropicReply(text="async one"), AnthropicReply(text="async two")) as server:
        frontier_env.setenv("ANTHROPIC_BASE_URL", server.base_url)
        model = load_chat_model(f"anthropic:{CLAUDE}")
        reply = await model.ainvoke("First?")
        chunks = [chunk async for chunk in model.astream("Second?")]

    assert reply.content == "async one"
    assert "".join(c.text for c in chunks) == "async two"
    assert [r.body["messages"][0]["content"] for r in server.requests] == ["First?", "Second?"]


def test_anthropic_explicit_api_key_beats_missing_variable(frontier_env: pytest.MonkeyPatch) -> None:
    frontier_env.delenv("ANTHROPIC_API_KEY")
    with ScriptedServer(AnthropicReply(text="ok")) as server:
        frontier_env.setenv("ANTHROPIC_BASE_URL", server.base_url)
        load_chat_model(f"anthropic:{CLAUDE}", api_key="sk-ant-explicit").invoke("hi")
    assert sent_anthropic_key(server.requests[0]) == "sk-ant-explicit"


# --- OpenAI Chat Completions ---------------------------------------------------------------


def test_openai_plain_turn(frontier_env: pytest.MonkeyPatch) -> None:
    reply_script = OpenAIReply(text="Hello there.", prompt_tokens=19, completion_tokens=3)
    with ScriptedServer(reply_script) as server:
        frontier_env.setenv("OPENAI_BASE_URL", f"{server.base_url}/v1")
        model = load_chat_model(f"openai:{GPT}", temperature=0.0, max_tokens=50, seed=42)
        reply = model.invoke([SystemMessage("Be brief."), HumanMessage("Greet me.")])

    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-openai-test-key"
    assert request.body["model"] == GPT
    assert request.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Greet me."},
    ]
    assert (request.body["temperature"], request.body["seed"]) == (0.0, 42)
    assert request.body["max_completion_tokens"] == 50
    assert not request.body.get("stream")

    assert reply.content == "Hello there."
    assert reply.response_metadata["finish_reason"] == "stop"
    assert reply.usage_metadata is not None
    assert (reply.usage_metadata["input_tokens"], reply.usage_metadata["output_tokens"]) == (19, 3)
    assert reply.usage_metadata["total_tokens"] == 22


def test_openai_tool_call_round_trip(frontier_env: pytest.MonkeyPatch) -> None:
    call = ToolCall("call_abc123", "get_weather", {"city": "Paris"})
    script = (OpenAIReply(tool_calls=(call,)), OpenAIReply(text="It is 18 degrees."))
    with ScriptedServer(*script) as server:
        frontier_env.setenv("OPENAI_BASE_URL", f"{server.base_url}/v1")
        model = load_chat_model(f"openai:{GPT}").bind_tools([get_weather])
        first = model.invoke("Weather in Paris?")
        final = model.invoke([HumanMessage("Weather in Paris?"), first, get_weather.invoke(first.tool_calls[0])])

    assert first.tool_calls == [{"name": "get_weather", "args": {"city": "Paris"}, "id": call.id, "type": "tool_call"}]
    assert first.response_metadata["finish_reason"] == "tool_calls"
    assert final.content == "It is 18 degrees."

    (sent_tool,) = server.requests[0].body["tools"]
    assert sent_tool["type"] == "function"
    function = sent_tool["function"]
    assert (function["name"], function["description"]) == ("get_weather", "Current weather in a city.")
    assert function["parameters"]["required"] == ["city"]
    assert function["parameters"]["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]

    assistant, tool_message = server.requests[1].body["messages"][1:]
    assert assistant["role"] == "assistant"
    (sent_call,) = assistant["tool_calls"]
    assert (sent_call["id"], sent_call["type"], sent_call["function"]["name"]) == (
        call.id,
        "function",
        "get_weather",
    )
    assert json.loads(sent_call["function"]["arguments"]) == {"city": "Paris"}
    assert tool_message == {"role": "tool", "tool_call_id": call.id, "content": "18 degrees celsius in Paris"}


def test_openai_streams_parallel_tool_calls(frontier_env: pytest.MonkeyPatch) -> None:
    calls = (
        ToolCall("call_paris", "get_weather", {"city": "Paris"}),
        ToolCall("call_oslo", "get_weather", {"city": "Oslo", "unit": "fahrenheit"}),
    )
    with ScriptedServer(OpenAIReply(tool_calls=calls)) as server:
        frontier_env.setenv("OPENAI_BASE_URL", f"{server.base_url}/v1")
        model = load_chat_model(f"openai:{GPT}").bind_tools([get_weather], tool_choice="get_weather")
        chunks = list(model.stream("Weather in Paris and Oslo?"))

    assert server.requests[0].body["stream"] is True
    assert server.requests[0].body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    fragments = [tc for c in chunks for tc in c.tool_call_chunks]
    assert {tc["index"] for tc in fragments} == {0, 1}
    assert len(fragments) > 4
    merged = merge(chunks)
    assert isinstance(merged, AIMessageChunk)
    assert [(tc["id"], tc["args"]) for tc in merged.tool_calls] == [(c.id, c.args) for c in calls]
    assert merged.response_metadata["finish_reason"] == "tool_calls"


async def test_openai_async_stream_with_usage_chunk(frontier_env: pytest.MonkeyPatch) -> None:
    with ScriptedServer(OpenAIReply(text="Async streaming.", prompt_tokens=9, completion_tokens=4)) as server:
        frontier_env.setenv("OPENAI_BASE_URL", f"{server.base_url}/v1")
        model = load_chat_model(f"openai:{GPT}", stream_usage=True)
        chunks = [chunk async for chunk in model.astream("Go.")]

    assert server.requests[0].body["stream_options"] == {"include_usage": True}
    assert len([c for c in chunks if c.text]) == 4
    merged = merge(chunks)
    assert merged.text == "Async streaming."
    assert merged.usage_metadata is not None
    assert (merged.usage_metadata["input_tokens"], merged.usage_metadata["output_tokens"]) == (9, 4)


# --- openai-compatible ---------------------------------------------------------------------


def test_openai_compatible_uses_the_spec_url_and_a_placeholder_key(frontier_env: pytest.MonkeyPatch) -> None:
    frontier_env.delenv("OPENAI_API_KEY")
    with ScriptedServer(OpenAIReply(text="local answer")) as server:
        spec = f"openai-compatible:{server.base_url}/v1#qwen2.5-0.5b"
        reply = load_chat_model(spec, max_tokens=16).invoke("hi")

    (request,) = server.requests
    assert reply.content == "local answer"
    assert request.headers["authorization"] == "Bearer not-needed"
    assert request.body["model"] == "qwen2.5-0.5b"
    # Both spellings, so servers that only know the classic field still stop in time.
    assert (request.body["max_completion_tokens"], request.body["max_tokens"]) == (16, 16)


def test_openai_compatible_key_variable_and_streamed_usage(frontier_env: pytest.MonkeyPatch) -> None:
    frontier_env.setenv("OPENAI_COMPATIBLE_API_KEY", "vllm-secret")
    with ScriptedServer(OpenAIReply(text="counted", prompt_tokens=5, completion_tokens=2)) as server:
        chunks = list(load_chat_model(f"openai-compatible:{server.base_url}/v1#m").stream("hi"))

    (request,) = server.requests
    assert request.headers["authorization"] == "Bearer vllm-secret"
    assert request.body["stream_options"] == {"include_usage": True}
    merged = merge(chunks)
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["total_tokens"] == 7


def test_scripted_server_refuses_requests_beyond_its_script(frontier_env: pytest.MonkeyPatch) -> None:
    import openai

    with ScriptedServer(OpenAIReply(text="only one")) as server:
        model = load_chat_model(f"openai-compatible:{server.base_url}/v1#m")
        model.invoke("one")
        with pytest.raises(openai.BadRequestError, match="script finished"):
            model.invoke("two")
    assert len(server.requests) == 2


# --- local GGUF specs (nothing loaded) -----------------------------------------------------


def test_gguf_spec_builds_a_chat_model_without_loading_it(tmp_path: Path) -> None:
    not_really_gguf = tmp_path / "model.gguf"
    not_really_gguf.write_bytes(b"not a model: loading it now would fail")
    model = load_chat_model(f"gguf:{not_really_gguf}", n_ctx=256, temperature=0.3, seed=None)

    assert isinstance(model, ChatLlamaCpp)
    assert model.model_path == str(not_really_gguf.resolve())
    assert (model.n_ctx, model.temperature) == (256, 0.3)
    assert model.seed is None and model.max_tokens == ChatLlamaCpp.model_fields["max_tokens"].default


def test_unknown_local_option_lists_the_local_settings(tmp_path: Path) -> None:
    model_file = tmp_path / "model.gguf"
    model_file.touch()
    with pytest.raises(ConfigError) as caught:
        load_chat_model(f"gguf:{model_file}", n_bacth=64)
    message = str(caught.value)
    assert "unknown option n_bacth for a local model. Local models take: n_ctx, n_threads" in message
    assert "max_tokens" in message
    assert "callbacks" not in message  # LangChain's generic fields are not settings


def test_unknown_catalog_name_is_the_catalogs_error() -> None:
    with pytest.raises(ModelLoadError, match="'no-such-model'"):
        load_chat_model("local:no-such-model")
