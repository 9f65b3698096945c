"""Token usage and cost of a run's model calls, recorded by a LangChain callback.

:class:`UsageRecorder` goes in a run's ``callbacks``; LangGraph passes it down to every chat
model call in the run, however deeply nested (subgraphs, ``with_structured_output`` parsers,
parallel branches), sync or async. It reads each call's ``AIMessage.usage_metadata``, so it
counts calls whose parsed result no longer carries the message.

:class:`PriceTable` turns tokens into US dollars. mcploom ships a default table
(``agents/prices.toml``); the user's ``data_home() / "prices.toml"``, in the same format, adds
models and overrides prices::

    # US dollars per million tokens; quote names that contain dots.
    "claude-sonnet-4-5" = { input = 3.00, output = 15.00 }
    "gpt-4.1" = { input = 2.00, output = 8.00 }
    "qwen2.5" = { input = 0, output = 0 }   # e.g. a local OpenAI-compatible server

Example:
    >>> prices = PriceTable({"claude-sonnet-4-5": Price(input=3.0, output=15.0)})
    >>> prices.cost("claude-sonnet-4-5-20250929", input_tokens=1_000_000, output_tokens=0)
    3.0
    >>> prices.cost("gpt-4o-mini", 10, 10) is None
    True
"""

from __future__ import annotations

import math
import os
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from mcploom.agents.errors import ConfigError
from mcploom.agents.events import ModelUsage
from mcploom.paths import data_home

__all__ = ["LOCAL_MODEL_CLASSES", "Price", "PriceTable", "UsageRecorder"]

LOCAL_MODEL_CLASSES = frozenset({"ChatLlamaCpp"})
"""Chat model classes that run in-process: their calls cost nothing, whatever the price table says."""

_SNAPSHOT_SUFFIX = re.compile(r"[-@](?:\d{4}-?\d{2}-?\d{2}|latest)\b")
"""What may follow a table name for a prefix match: a dated snapshot (``-20250929``,
``-2024-08-06``, ``@20250929``) or ``-latest``. So ``gpt-4o`` prices ``gpt-4o-2024-08-06`` but
never ``gpt-4o-mini``, and ``gpt-5`` never ``gpt-5.1``."""

_ENTRY_EXAMPLE = '"{name}" = {{ input = 3.0, output = 15.0 }}  # US dollars per million tokens'


@dataclass(frozen=True)
class Price:
    """A model's list price in US dollars per million tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """Dollars for these tokens."""
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


class PriceTable:
    """Model names to :class:`Price`, matched case-insensitively.

    A name matches its exact entry first, else the longest entry it starts with when the rest
    is a snapshot suffix (a date or ``-latest``): API responses name dated snapshots such as
    ``claude-sonnet-4-5-20250929`` or ``gpt-4o-2024-08-06``.

    Prices are list prices for standard requests: cached input tokens are priced as ordinary
    input, so for prompt-cached runs the cost is an upper bound; batch and long-context rates
    are not modelled.
    """

    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._prices = {name.lower(): price for name, price in prices.items()}

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> PriceTable:
        """The default table, extended and overridden by the user's price file.

        Args:
            path: The user's file; by default ``data_home() / "prices.toml"`` when it exists.

        Raises:
            ConfigError: ``path`` does not exist, is not valid TOML, or has an entry that is not
                ``{ input = <number>, output = <number> }``.
        """
        default = resources.files("mcploom.agents").joinpath("prices.toml")
        prices = _parse(default.read_text(encoding="utf-8"), source="agents/prices.toml")
        user = Path(path).expanduser() if path is not None else data_home() / "prices.toml"
        if user.is_file():
            prices.update(_parse(user.read_text(encoding="utf-8"), source=str(user)))
        elif path is not None:
            raise ConfigError(f"At {user}: no such price file. Create it, or leave the path out to use the defaults.")
        return cls(prices)

    def price(self, model: str) -> Price | None:
        """The price for ``model``, or ``None`` when the table does not know it."""
        name = model.lower()
        if name in self._prices:
            return self._prices[name]
        matches = [key for key in self._prices if name.startswith(key) and _SNAPSHOT_SUFFIX.match(name, len(key))]
        return self._prices[max(matches, key=len)] if matches else None

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        """Dollars for one call, or ``None`` when the price of ``model`` is unknown."""
        price = self.price(model)
        return None if price is None else price.cost(input_tokens, output_tokens)


def _parse(text: str, *, source: str) -> dict[str, Price]:
    """Read a price file; every problem names the file, the key and how to write it."""
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"At {source}: not valid TOML ({exc}). Write one line per model, e.g. "
            + _ENTRY_EXAMPLE.format(name="claude-sonnet-4-5")
        ) from None
    prices: dict[str, Price] = {}
    for name, entry in table.items():
        fix = f"Write it as {_ENTRY_EXAMPLE.format(name=name)}."
        if not isinstance(entry, dict):
            raise ConfigError(f"At {source}, key {name!r}: expected a table of prices, got {entry!r}. {fix}")
        if set(entry) != {"input", "output"}:
            raise ConfigError(
                f"At {source}, key {name!r}: expected exactly the keys 'input' and 'output', got {sorted(entry)}. "
                f"{fix} Quote model names that contain dots (a bare gpt-4.1 reads as a nested table)."
            )
        for side in ("input", "output"):
            value = entry[side]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(
                    f"At {source}, key {name!r}: {side} must be a number of dollars (0 or more), got {value!r}. {fix}"
                )
        prices[name] = Price(input=float(entry["input"]), output=float(entry["output"]))
    return prices


@dataclass(frozen=True)
class _Started:
    """What a chat model's start tells about it, kept until its end."""

    name: str | None
    class_name: str


class UsageRecorder(BaseCallbackHandler):
    """Records a :class:`~mcploom.agents.events.ModelUsage` for every chat model call of a run.

    Pass it in the run's config (``{"callbacks": [recorder]}``). A streaming consumer calls
    :meth:`drain` between events to take the records that arrived since its last call; at the
    end :meth:`totals` and :meth:`cost` sum the whole run. Callbacks may fire from worker
    threads (sync graphs run parallel branches in a thread pool), so state is kept under a lock.

    The model's name comes from the response (the snapshot that answered, e.g.
    ``claude-sonnet-4-5-20250929``), else from the model at call start (its ``model`` setting,
    or its GGUF file's name), else its class name. A call whose model reported no token usage
    is recorded with 0 tokens and an unknown cost; local models (``LOCAL_MODEL_CLASSES``)
    always cost 0.0.

    Args:
        prices: Prices to cost calls with; by default :meth:`PriceTable.load` (which raises
            ``ConfigError`` for a bad user price file).

    Example:
        >>> recorder = UsageRecorder(PriceTable({}))
        >>> recorder.totals()
        {'input_tokens': 0, 'output_tokens': 0, 'total_tokens': 0}
    """

    run_inline = True
    """Recording is a cheap append: run it where the call ends instead of in an executor."""

    def __init__(self, prices: PriceTable | None = None) -> None:
        super().__init__()
        self.prices = prices if prices is not None else PriceTable.load()
        self._lock = threading.Lock()
        self._started: dict[UUID, _Started] = {}
        self._calls: list[ModelUsage] = []
        self._drained = 0

    @property
    def calls(self) -> list[ModelUsage]:
        """Every call recorded so far, in the order they ended."""
        with self._lock:
            return list(self._calls)

    def drain(self) -> list[ModelUsage]:
        """The calls recorded since the last ``drain`` (all of them on the first)."""
        with self._lock:
            new, self._drained = self._calls[self._drained :], len(self._calls)
        return new

    def totals(self) -> dict[str, int]:
        """Tokens summed over all calls: ``input_tokens``, ``output_tokens``, ``total_tokens``."""
        calls = self.calls
        tokens_in = sum(c.input_tokens for c in calls)
        tokens_out = sum(c.output_tokens for c in calls)
        return {"input_tokens": tokens_in, "output_tokens": tokens_out, "total_tokens": tokens_in + tokens_out}

    def cost(self) -> float | None:
        """Dollars summed over all calls; ``None`` when any call's cost is unknown.

        A partial sum would read as the run's cost while leaving calls out, so an unknown
        price makes the total unknown; each call's own ``cost`` still shows what is known.
        """
        costs = [c.cost for c in self.calls]
        return None if any(c is None for c in costs) else math.fsum(c for c in costs if c is not None)

    # --- callbacks --------------------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        invocation_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Remember the model's name and class until the call ends."""
        params = invocation_params or {}
        path = params.get("model_path")
        name = (metadata or {}).get("ls_model_name") or params.get("model") or params.get("model_name")
        class_name = ((serialized or {}).get("id") or ["?"])[-1]  # the class's import path, last part
        started = _Started(name=name or (Path(path).stem if path else None), class_name=class_name)
        with self._lock:
            self._started[run_id] = started

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """Record the call's tokens and cost."""
        with self._lock:
            started = self._started.pop(run_id, None)
        if started is None:  # a text-completion model, not a chat model: no usage metadata to read
            return
        for generations in response.generations:
            generation = generations[0] if generations else None
            if isinstance(generation, ChatGeneration) and isinstance(generation.message, AIMessage):
                record = self._record(generation.message, response.llm_output or {}, started)
                with self._lock:
                    self._calls.append(record)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget a failed call: it returned no usage to record."""
        with self._lock:
            self._started.pop(run_id, None)

    def _record(self, message: AIMessage, llm_output: Mapping[str, Any], started: _Started) -> ModelUsage:
        meta = message.response_metadata
        model = (
            llm_output.get("model_name")
            or llm_output.get("model")
            or meta.get("model_name")
            or meta.get("model")
            or started.name
            or started.class_name
        )
        usage = message.usage_metadata
        tokens_in = usage["input_tokens"] if usage else 0
        tokens_out = usage["output_tokens"] if usage else 0
        if started.class_name in LOCAL_MODEL_CLASSES:
            cost: float | None = 0.0
        else:
            cost = self.prices.cost(model, tokens_in, tokens_out) if usage else None
        return ModelUsage(model=str(model), input_tokens=tokens_in, output_tokens=tokens_out, cost=cost)
