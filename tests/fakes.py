"""Scripted chat models for testing graph control flow without a real model."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field


class ScriptedChatModel(GenericFakeChatModel):
    """Replies with the scripted messages in order, and records what it was sent and bound.

    Example:
        >>> model = ScriptedChatModel.script([tool_call("add", a=1, b=2), "3"])
    """

    seen: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[list[str]] = Field(default_factory=list)
    tool_choices: list[str | None] = Field(default_factory=list)
    """The ``tool_choice`` each model call was made with (``None``: not set)."""

    @classmethod
    def script(cls, replies: Iterable[AIMessage | str]) -> ScriptedChatModel:
        return cls(messages=iter([AIMessage(r) if isinstance(r, str) else r for r in replies]))

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        self.bound_tools.append([getattr(t, "name", getattr(t, "__name__", str(t))) for t in tools])
        return self.bind(tool_choice=kwargs["tool_choice"]) if "tool_choice" in kwargs else self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        self.tool_choices.append(kwargs.get("tool_choice"))
        return super()._generate(messages, *args, **kwargs)

    def _stream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        # The parent streams text only; a scripted turn may also carry tool calls and usage.
        message = self._generate(messages, *args, **kwargs).generations[0].message
        for piece in re.split(r"(?<=\s)", message.text) if message.text else []:
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece, id=message.id))
        calls = [
            {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i, "type": "tool_call_chunk"}
            for i, c in enumerate(message.tool_calls)
        ]
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="", tool_call_chunks=calls, usage_metadata=message.usage_metadata, id=message.id
            )
        )


def tool_call(name: str, call_id: str | None = None, **args: Any) -> AIMessage:
    """An AI turn that calls one tool."""
    return AIMessage(
        "", tool_calls=[{"name": name, "args": args, "id": call_id or f"call_{name}", "type": "tool_call"}]
    )


def tool_calls(*calls: tuple[str, dict[str, Any]]) -> AIMessage:
    """An AI turn that calls several tools at once."""
    return AIMessage(
        "",
        tool_calls=[
            {"name": n, "args": a, "id": f"call_{i}_{n}", "type": "tool_call"} for i, (n, a) in enumerate(calls)
        ],
    )


def structured(schema: type | str, **fields: Any) -> AIMessage:
    """An AI turn that fills in a ``with_structured_output`` schema.

    LangChain's default ``with_structured_output`` binds the schema as the only tool with
    ``tool_choice="any"`` and parses the first tool call named after it, so a scripted reply is
    that call.

    Example:
        >>> structured("Plan", steps=[{"id": 1, "task": "look it up"}]).tool_calls[0]["name"]
        'Plan'
    """
    name = schema if isinstance(schema, str) else schema.__name__
    return AIMessage("", tool_calls=[{"name": name, "args": fields, "id": f"call_{name}", "type": "tool_call"}])


class SeededChatModel(ScriptedChatModel):
    """A scripted model with ``temperature`` and ``seed`` fields, whose replies follow its seed.

    A sampling graph runs copies made with ``model_copy(update={"temperature": t, "seed": s})``
    in parallel. Each copy replies from ``scripts[s]``, its own script, so every sample is
    deterministic whatever order the parallel calls run in; ``settings`` records the
    ``(temperature, seed)`` of every call (copies share the lists).

    Example:
        >>> model = SeededChatModel.seeded({0: ["42"], 1: [tool_call("add", a=1, b=2), "3"]})
        >>> model.model_copy(update={"seed": 1}).invoke("hi").tool_calls[0]["name"]
        'add'
    """

    temperature: float = 0.0
    seed: int | None = None
    scripts: dict[int | None, Iterator[AIMessage]] = Field(default_factory=dict)
    settings: list[tuple[float, int | None]] = Field(default_factory=list)

    @classmethod
    def seeded(cls, scripts: Mapping[int | None, Iterable[AIMessage | str]], seed: int | None = 0) -> SeededChatModel:
        """A model at ``seed`` (the first sample's) with one script per seed."""
        return cls(
            messages=iter(()),
            seed=seed,
            scripts={
                s: iter([AIMessage(r) if isinstance(r, str) else r for r in replies]) for s, replies in scripts.items()
            },
        )

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        self.settings.append((self.temperature, self.seed))
        return ChatResult(generations=[ChatGeneration(message=next(self.scripts[self.seed]))])
