"""``ChatLlamaCpp``: a LangChain chat model over a local GGUF file, with constrained tool calls.

Example:
    >>> from mcploom.local_models import ChatLlamaCpp, resolve_model
    >>> model = ChatLlamaCpp(model_path=str(resolve_model()))  # doctest: +SKIP
    >>> model.bind_tools([calculate]).invoke("What is 1234 * 5678?").tool_calls  # doctest: +SKIP
    [{'name': 'calculate', 'args': {'expression': '1234 * 5678'}, 'id': 'call_...', 'type': 'tool_call'}]
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from mcploom.local_models._decoding import Decoding
from mcploom.local_models._llama import LoadedModel, load_llama
from mcploom.local_models.tool_protocol import ToolChoice, ToolProtocol, render_tools_section

__all__ = ["ChatLlamaCpp"]


class ChatLlamaCpp(BaseChatModel):
    """A local GGUF chat model (llama-cpp-python) that keeps the model's own chat template.

    Tool calls are grammar-constrained (see ``mcploom.local_models.tool_protocol``): every call names a
    bound tool and has arguments valid against its schema, even on a 0.5B model.
    """

    model_path: str = Field(description="Path to the .gguf file.")
    n_ctx: int = Field(default=8192, description="Context window in tokens.")
    n_threads: int | None = Field(default=None, description="CPU threads (default: all cores).")
    n_gpu_layers: int = Field(default=0, description="Layers to offload to the GPU (-1 = all).")
    seed: int | None = Field(default=None, description="Sampling seed; None for random.")
    temperature: float = Field(default=0.0, description="0 = greedy, which suits tool use.")
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = Field(
        default=1.1, description="Repetition penalty (1.0 = off); 1.1 stops small models looping greedily."
    )
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    max_tokens: int = Field(default=512, description="Most tokens to generate per reply.")
    max_call_tokens: int = Field(
        default=256,
        description="Most tokens of a reply that is a tool call, not an answer: small models sometimes run away "
        "inside an argument, and the rest of max_tokens would only cost time (~40 s on 2 cores).",
    )
    stop: list[str] | None = None

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, "temperature": self.temperature}

    def _loaded(self) -> LoadedModel:
        return load_llama(self.model_path, self.n_ctx, self.n_threads, self.n_gpu_layers)

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable | BaseTool],
        *,
        tool_choice: ToolChoice | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; ``tool_choice`` is ``auto`` (default), ``any``/``required``, ``none`` or a tool name."""
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        if isinstance(tool_choice, dict):  # OpenAI form {"type": "function", "function": {"name": ...}}
            tool_choice = tool_choice.get("function", {}).get("name") or tool_choice.get("name")
        if tool_choice is True:
            tool_choice = "any"
        ToolProtocol.build(formatted, tool_choice or "auto")  # fail now, not at the first call
        return super().bind(tools=formatted, tool_choice=tool_choice or "auto", **kwargs)

    # --- generation -------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Merge once at the end: adding chunk by chunk re-merges the growing message every token.
        first, *rest = self._stream(messages, stop, run_manager, **kwargs)
        message = (first + rest).message if rest else first.message
        ai = AIMessage(
            content=message.content,
            tool_calls=message.tool_calls,
            invalid_tool_calls=message.invalid_tool_calls,
            usage_metadata=message.usage_metadata,
            response_metadata=message.response_metadata,
            id=message.id,
        )
        return ChatResult(generations=[ChatGeneration(message=ai)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: ToolChoice = "auto",
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        loaded = self._loaded()
        protocol = (
            ToolProtocol.build(tools, tool_choice, tagged=_tagged(loaded)) if tools and tool_choice != "none" else None
        )
        if protocol is None and any(isinstance(m, ToolMessage) for m in messages):
            # Asked for text after tool calls (the last turn once the tool budget is spent), small models
            # wrote one more call as JSON or in a fence, which then stood as the answer. Only the answer
            # pseudo-tool is offered, so the reply is an answer.
            protocol = ToolProtocol.build([], "auto", tagged=_tagged(loaded))
        prompt = loaded.render(_to_chat_messages(messages, protocol, loaded), _template_tools(protocol, loaded))
        stop = [*(self.stop or []), *(stop or []), *([loaded.eos_token] if loaded.eos_token else [])]
        sampling = self._sampling(kwargs)
        answered = _answered_calls(messages)
        only: str | None = None  # restrict the call to this one tool (the answer) on a retry
        with loaded.lock:
            prompt_tokens = loaded.llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            while True:
                streamer = protocol.streamer() if protocol else None
                decoding = Decoding(loaded.llama, prompt_tokens, stop, sampling)
                pieces = decoding.call(protocol, only, self.max_call_tokens) if protocol else decoding.text()
                for piece in pieces:
                    delta = streamer.feed(piece) if streamer else piece
                    if delta:
                        chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                        if run_manager:
                            run_manager.on_llm_new_token(delta, chunk=chunk)
                        yield chunk
                # Small models repeat a call that was already answered instead of answering from its
                # result (measured: Qwen2.5-Coder-0.5B, every time), or apply it again to its own
                # result. Neither can add anything, so decode once more with only the answer allowed;
                # the prompt and its cache stay.
                if only is None and protocol and protocol.answer_name and _repeats(protocol, decoding.output, answered):
                    only = protocol.answer_name
                    continue
                break
        usage = UsageMetadata(
            input_tokens=len(prompt_tokens),
            output_tokens=decoding.generated,
            total_tokens=len(prompt_tokens) + decoding.generated,
        )
        yield ChatGenerationChunk(
            message=_final_chunk(
                decoding.output,
                protocol,
                streamer is not None and streamer.answering,
                usage,
                self.max_call_tokens if decoding.finish_reason == "call_length" else None,
            ),
            generation_info={"finish_reason": decoding.finish_reason},
        )

    def _sampling(self, overrides: dict[str, Any]) -> dict[str, Any]:
        params = {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_k": self.top_k,
            "top_p": self.top_p,
            "min_p": self.min_p,
            "repeat_penalty": self.repeat_penalty,
            "frequency_penalty": self.frequency_penalty,
            "presence_penalty": self.presence_penalty,
            "seed": self.seed,
        }
        unknown = set(overrides) - set(params) - {"ls_structured_output_format"}
        if unknown:
            raise TypeError(f"Unknown generation options {sorted(unknown)}; known: {sorted(params)}.")
        params.update({key: value for key, value in overrides.items() if key in params})
        return params


def _answered_calls(messages: list[BaseMessage]) -> list[tuple[str, dict[str, Any], str]]:
    """Tool calls in the conversation that already have a result: (name, arguments, result text)."""
    results = {m.tool_call_id: m.text for m in messages if isinstance(m, ToolMessage)}
    return [
        (call["name"], call["args"], results[call["id"]])
        for m in messages
        if isinstance(m, AIMessage)
        for call in m.tool_calls
        if call["id"] in results
    ]


def _repeats(protocol: ToolProtocol, text: str, answered: list[tuple[str, dict[str, Any], str]]) -> bool:
    """Whether ``text`` is a call already answered, or one re-applied to its own result."""
    try:
        reply = protocol.parse(text)
    except ValueError:
        return False
    if reply.tool_name is None or not isinstance(reply.arguments, dict):
        return False
    return any(
        name == reply.tool_name and (args == reply.arguments or _reapplied(args, reply.arguments, result))
        for name, args, result in answered
    )


_PARTS = re.compile(r"\d+|[^\W\d_]+")


def _reapplied(before: dict[str, Any], after: dict[str, Any], result: str) -> bool:
    """Whether ``after`` is ``before`` with one argument's value replaced by one taken from
    ``before``'s result, the others unchanged: the same operation run on its own output, which a
    small model does over and over (a time converted from Sydney to UTC, then that UTC time
    "from Sydney" again, seven times). A call of one argument is a chain step, not a re-run
    ("2^20", then "1048576 / 2"), so it needs two or more."""
    if len(before) < 2 or before.keys() != after.keys():
        return False
    changed = [key for key in before if before[key] != after[key]]
    if len(changed) != 1 or not isinstance(after[changed[0]], str):
        return False
    parts = set(_PARTS.findall(after[changed[0]]))
    given = set(_PARTS.findall(json.dumps(before)))
    return bool(parts - given) and parts <= given | set(_PARTS.findall(result))


def _tagged(loaded: LoadedModel) -> bool:
    return "<tool_call>" in (loaded.template or "") or not loaded.renders_tools


def _template_tools(protocol: ToolProtocol | None, loaded: LoadedModel) -> list[dict[str, Any]] | None:
    return list(protocol.tools) if protocol and loaded.renders_tools else None


def _final_chunk(
    text: str, protocol: ToolProtocol | None, streamed: bool, usage: UsageMetadata, cut_at: int | None = None
) -> AIMessageChunk:
    """The closing chunk: a tool call, or whatever answer text was not streamed yet, plus usage.
    ``cut_at``: the call was stopped after this many tokens (``max_call_tokens``)."""
    if protocol is None:
        return AIMessageChunk(content="", usage_metadata=usage)
    try:
        reply = protocol.parse(text)
    except ValueError as exc:
        if streamed:  # an answer cut off by max_tokens: what was streamed is the answer
            return AIMessageChunk(content="", usage_metadata=usage)
        name = _CALLED.search(text)
        error = (
            f"its arguments ran past {cut_at} tokens without closing; write them shorter"
            if cut_at is not None
            else str(exc)
        )
        return AIMessageChunk(
            content="",
            usage_metadata=usage,
            invalid_tool_calls=[
                {
                    "name": name.group(1) if name else None,
                    "args": text,
                    "id": _call_id(),
                    "error": error,
                    "type": "invalid_tool_call",
                }
            ],
        )
    if reply.tool_name is None:
        return AIMessageChunk(content="" if streamed else reply.text or "", usage_metadata=usage)
    return AIMessageChunk(
        content="",
        usage_metadata=usage,
        tool_call_chunks=[
            {
                "name": reply.tool_name,
                "args": json.dumps(reply.arguments),
                "id": _call_id(),
                "index": 0,
                "type": "tool_call_chunk",
            }
        ],
    )


_CALLED = re.compile(r'"name"\s*:\s*"([^"]+)"')


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:16]}"


def _to_chat_messages(
    messages: list[BaseMessage], protocol: ToolProtocol | None, loaded: LoadedModel
) -> list[dict[str, Any]]:
    """LangChain messages to the role/content dicts chat templates expect, with the tool rules added."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            out.append({"role": "system", "content": message.text})
        elif isinstance(message, HumanMessage):
            out.append({"role": "user", "content": message.text})
        elif isinstance(message, AIMessage):
            entry: dict[str, Any] = {"role": "assistant", "content": message.text}
            if message.tool_calls:
                entry["tool_calls"] = [
                    {
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["name"], "arguments": call["args"]},
                    }
                    for call in message.tool_calls
                ]
            out.append(entry)
        elif isinstance(message, ToolMessage):
            content = message.text
            if loaded.renders_tool_role:
                out.append({"role": "tool", "content": content, "tool_call_id": message.tool_call_id})
            else:
                out.append({"role": "user", "content": f"<tool_response>\n{content}\n</tool_response>"})
        else:
            raise TypeError(f"Unsupported message type {type(message).__name__}; use system/human/ai/tool messages.")
    if protocol is None:
        return _merge_system(out)
    rules = protocol.instructions()
    if not loaded.renders_tools:
        rules = render_tools_section(protocol.tools, tagged=protocol.tagged) + "\n\n" + rules
    if out and out[0]["role"] == "system":
        out[0] = {"role": "system", "content": f"{out[0]['content']}\n\n{rules}".strip()}
    else:
        out.insert(0, {"role": "system", "content": rules})
    return _merge_system(out)


def _merge_system(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold later system messages into the first: most templates accept one, at the start."""
    system = [m["content"] for m in messages if m["role"] == "system"]
    rest = [m for m in messages if m["role"] != "system"]
    return ([{"role": "system", "content": "\n\n".join(system)}] if system else []) + rest
