"""Run traces: a run's events written to a JSONL file, and/or sent as OpenTelemetry spans.

Both are :class:`TraceSink` objects (``write(event)``, ``close()``); :func:`open_sinks` opens
what a run asks for and what the environment configures, as one sink:

- :class:`JsonlTrace` appends one JSON object per event to a file (by default
  ``data_home() / "traces" / "<thread_id>.jsonl"``, see :func:`trace_path`), flushing each line
  so a crash keeps everything up to it.
- :class:`OtelTracer` turns the events into spans when OpenTelemetry is *configured*, which
  means: the application (or ``opentelemetry-instrument``) installed a global
  ``TracerProvider``; or, with none installed, ``OTEL_TRACES_EXPORTER`` is set (``otlp``,
  ``console``, or a comma list of them; ``none`` turns tracing off) or an OTLP endpoint is
  (``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``). In the second
  case mcploom installs an SDK ``TracerProvider`` with those exporters as the global one, once
  per process (``pip install 'mcploom[otel]'``). ``OTEL_SDK_DISABLED=true`` turns it off.

Example:
    >>> from mcploom.agents.events import Answer
    >>> with open_sinks(None, thread_id="t1", pattern="react", model="local") as sinks:  # doctest: +SKIP
    ...     sinks.write(Answer("42"))
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self

from mcploom.agents.errors import ConfigError
from mcploom.agents.events import (
    AgentEvent,
    Answer,
    ApprovalRequest,
    ModelUsage,
    NodeEnd,
    NodeStart,
    Token,
    ToolCall,
    ToolResult,
)
from mcploom.paths import data_home

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

__all__ = ["JsonlTrace", "OtelTracer", "TraceSink", "TraceSinks", "open_sinks", "otel_tracer", "trace_path"]

logger = logging.getLogger(__name__)

_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_install_lock = threading.Lock()


class TraceSink(Protocol):
    """Somewhere a run's events go as they happen."""

    def write(self, event: AgentEvent) -> None:
        """Record one event."""

    def close(self) -> None:
        """Finish the trace (flush, end open spans); called once, after the last event."""


def trace_path(thread_id: str) -> Path:
    """Where a thread's JSONL trace goes by default: ``data_home() / "traces" / "<thread_id>.jsonl"``."""
    return data_home() / "traces" / f"{thread_id}.jsonl"


class JsonlTrace:
    """Appends a run's events to a JSONL file, one flushed line per event.

    Each line is ``{"ts": <unix time>, "type": "<event class>", "run_id": ..., "thread_id": ...,
    <the event's fields>}``; values JSON cannot hold (tool artifacts, ...) are written as
    ``str()``. Runs of one thread append to the same file; ``run_id`` tells them apart.

    Args:
        path: The file; its folder is created if missing.
        thread_id: Written on every line.
        run_id: Written on every line (default: a fresh random id).

    Raises:
        ConfigError: The file cannot be opened for appending.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, thread_id: str | None = None, run_id: str | None = None
    ) -> None:
        self.path = Path(path).expanduser()
        self.thread_id = thread_id
        self.run_id = run_id or uuid.uuid4().hex
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"At trace path {str(self.path)!r}: cannot open it for appending ({exc.strerror or exc}). "
                "Pass a path in a writable folder."
            ) from exc

    def write(self, event: AgentEvent) -> None:
        """Append ``event`` as one line and flush it to the OS."""
        fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
        record = {"ts": time.time(), "type": type(event).__name__, "run_id": self.run_id, "thread_id": self.thread_id}
        self._file.write(json.dumps(record | fields, default=_jsonable, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _jsonable(value: Any) -> Any:
    """``json.dumps`` fallback: nested dataclasses (``PendingCall``) as objects, anything else as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return str(value)


class OtelTracer:
    """Turns one run's events into OpenTelemetry spans.

    - The run is a span ``invoke_agent <pattern>`` (attributes ``gen_ai.conversation.id`` =
      thread id, ``gen_ai.request.model``, ``mcploom.pattern``), started when the tracer is made.
    - Each :class:`NodeStart` .. :class:`NodeEnd` pair is a child span named after the node;
      a node inside a subgraph (``path``) nests under the open span of its enclosing node.
    - Each :class:`ToolCall` .. :class:`ToolResult` pair (by call id) is a span
      ``execute_tool <name>`` beside the nodes of its graph, with error status when the tool failed.
    - :class:`ModelUsage` becomes a ``gen_ai.usage`` span event on the run span, and the run
      span gets the summed ``gen_ai.usage.input_tokens`` / ``output_tokens`` (and
      ``mcploom.cost_usd`` when every call's price is known) when it ends.
    - Plan updates, step results, critiques and handoffs become span events on the run span;
      tokens are not traced.
    - :class:`Answer` ends the run span; :class:`ApprovalRequest` ends it with
      ``mcploom.paused`` = true and the pending tools' names. A run closed before either is
      marked as an error.

    Args:
        tracer: Where spans go (``provider.get_tracer("mcploom")``).
        thread_id: The conversation the run belongs to.
        pattern: The agent pattern (``react``, ``plan_execute``, ...).
        model: The model's spec or name.
    """

    def __init__(self, tracer: Tracer, *, thread_id: str, pattern: str, model: str) -> None:
        self._tracer = tracer
        self._run: Span = tracer.start_span(
            f"invoke_agent {pattern}",
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "mcploom",
                "gen_ai.conversation.id": thread_id,
                "gen_ai.request.model": model,
                "mcploom.pattern": pattern,
            },
        )
        self._nodes: dict[tuple[tuple[str, ...], str], list[Span]] = {}
        self._tools: dict[str, Span] = {}
        self._usage: list[ModelUsage] = []
        self._ended = False

    def write(self, event: AgentEvent) -> None:
        """Open, close or annotate spans for ``event`` (ignored after the run span ended)."""
        if self._ended:
            return
        match event:
            case NodeStart(node=node, path=path):
                span = self._start(node, path, {"mcploom.node": node, "mcploom.path": list(path)})
                self._nodes.setdefault((path, node), []).append(span)
            case NodeEnd(node=node, path=path):
                if spans := self._nodes.get((path, node)):
                    spans.pop(0).end()
            case ToolCall(name=name, id=call_id, path=path):
                attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}
                self._tools[call_id] = self._start(
                    f"execute_tool {name}", path, attributes | {"gen_ai.tool.call.id": call_id}
                )
            case ToolResult(id=call_id, is_error=is_error, content=content):
                if (span := self._tools.pop(call_id, None)) is not None:
                    if is_error:
                        _fail(span, content[:500], "tool_error")
                    span.end()
            case ModelUsage():
                self._usage.append(event)
                attributes = {
                    "gen_ai.response.model": event.model,
                    "gen_ai.usage.input_tokens": event.input_tokens,
                    "gen_ai.usage.output_tokens": event.output_tokens,
                }
                self._run.add_event("gen_ai.usage", attributes | _cost(event.cost))
            case Answer():
                self._finish()
            case ApprovalRequest(calls=calls):
                self._run.set_attributes({"mcploom.paused": True, "mcploom.pending_tools": [c.name for c in calls]})
                self._finish()
            case Token():
                pass
            case _:  # PlanUpdate, StepResult, Critique, Handoff
                self._run.add_event(type(event).__name__, _attributes(event))

    def close(self) -> None:
        """End every open span; a run that got neither an answer nor an approval request is an error."""
        if not self._ended:
            _fail(
                self._run, "The run ended before its answer (an error, or the stream was closed early).", "incomplete"
            )
            self._finish()

    def _start(self, name: str, path: tuple[str, ...], attributes: dict[str, Any]) -> Span:
        from opentelemetry import trace

        enclosing = self._nodes.get((path[:-1], path[-1])) if path else None
        parent = enclosing[-1] if enclosing else self._run
        return self._tracer.start_span(name, context=trace.set_span_in_context(parent), attributes=attributes)

    def _finish(self) -> None:
        for call_id, span in self._tools.items():
            _fail(span, f"Tool call {call_id} got no result before the run ended.", "no_result")
            span.end()
        for spans in self._nodes.values():
            for span in spans:
                span.end()
        self._tools.clear()
        self._nodes.clear()
        cost = None if any(u.cost is None for u in self._usage) else sum(u.cost or 0.0 for u in self._usage)
        self._run.set_attributes(
            {
                "gen_ai.usage.input_tokens": sum(u.input_tokens for u in self._usage),
                "gen_ai.usage.output_tokens": sum(u.output_tokens for u in self._usage),
            }
            | _cost(cost)
        )
        self._run.end()
        self._ended = True


def _fail(span: Span, description: str, error_type: str) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.set_status(Status(StatusCode.ERROR, description))
    span.set_attribute("error.type", error_type)


def _cost(cost: float | None) -> dict[str, float]:
    return {} if cost is None else {"mcploom.cost_usd": cost}


def _attributes(event: AgentEvent) -> dict[str, Any]:
    """An event's fields as span attributes: scalars as they are, anything else as JSON text."""
    attributes: dict[str, Any] = {}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, str | bool | int | float):
            attributes[f.name] = value
        elif value is not None:
            attributes[f.name] = json.dumps(value, default=_jsonable, ensure_ascii=False)
    return attributes


def otel_tracer(
    *, thread_id: str, pattern: str, model: str, provider: TracerProvider | None = None
) -> OtelTracer | None:
    """An :class:`OtelTracer` for one run, or ``None`` when OpenTelemetry is absent or not configured.

    Args:
        thread_id: The conversation the run belongs to.
        pattern: The agent pattern.
        model: The model's spec or name.
        provider: Use this provider instead of the configured one (tests, embedding apps).
    """
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        return None
    provider = provider or _configured_provider()
    if provider is None:
        return None
    return OtelTracer(provider.get_tracer("mcploom"), thread_id=thread_id, pattern=pattern, model=model)


def _configured_provider() -> TracerProvider | None:
    """The global provider when one is installed, else one installed from ``OTEL_*`` variables, else ``None``."""
    from opentelemetry import trace

    with _install_lock:
        current = trace.get_tracer_provider()
        if not isinstance(current, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
            return current
        provider = _provider_from_env()
        if provider is None:
            return None
        trace.set_tracer_provider(provider)
        return trace.get_tracer_provider()


def _provider_from_env() -> TracerProvider | None:
    """An SDK provider exporting where the ``OTEL_*`` variables say, or ``None`` (with a warning when they can't be honoured)."""
    names = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true" or names == "none":
        return None
    if not names:
        if not any(os.environ.get(var) for var in _ENDPOINT_VARS):
            return None
        names = "otlp"
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        logger.warning(
            "OTEL_* variables ask for traces, but opentelemetry-sdk is missing: pip install 'mcploom[otel]'."
        )
        return None
    exporters = [_exporter(name.strip()) for name in names.split(",") if name.strip() != "none"]
    if not exporters or None in exporters:
        return None
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "mcploom"}))
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _exporter(name: str) -> Any:
    """The span exporter ``OTEL_TRACES_EXPORTER`` names, or ``None`` with a warning saying what to do."""
    if name == "console":  # stderr: stdout may be an MCP server's wire
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=sys.stderr)
    if name != "otlp":
        logger.warning(
            "OTEL_TRACES_EXPORTER=%r: mcploom sets up only 'otlp' and 'console'; for others install "
            "a TracerProvider yourself (e.g. run under opentelemetry-instrument).",
            name,
        )
        return None
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    package = (
        "opentelemetry-exporter-otlp-proto-grpc" if protocol == "grpc" else "opentelemetry-exporter-otlp-proto-http"
    )
    try:
        if protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        logger.warning("OTLP traces over %s need %s: pip install %s.", protocol, package, package)
        return None
    return OTLPSpanExporter()


class TraceSinks:
    """Several sinks as one: each event goes to all of them; closing closes all, even if one fails.

    Use it as a context manager around a run, or call :meth:`close` in a ``finally``.
    """

    def __init__(self, sinks: Sequence[TraceSink] = ()) -> None:
        self.sinks = list(sinks)
        self._closing = ExitStack()
        for sink in self.sinks:
            self._closing.callback(sink.close)

    def write(self, event: AgentEvent) -> None:
        """Pass ``event`` to every sink."""
        for sink in self.sinks:
            sink.write(event)

    def close(self) -> None:
        """Close every sink (the last one first)."""
        self._closing.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_sinks(path: str | os.PathLike[str] | None, *, thread_id: str, pattern: str, model: str) -> TraceSinks:
    """The sinks for one run: a :class:`JsonlTrace` at ``path`` (if given) and an :class:`OtelTracer` (if configured).

    Args:
        path: The JSONL file, e.g. :func:`trace_path` (``thread_id``); ``None`` for no file.
        thread_id: The run's thread.
        pattern: The agent pattern.
        model: The model's spec or name.

    Raises:
        ConfigError: ``path`` cannot be opened for appending.
    """
    sinks: list[TraceSink] = []
    if path is not None:
        sinks.append(JsonlTrace(path, thread_id=thread_id))
    if (tracer := otel_tracer(thread_id=thread_id, pattern=pattern, model=model)) is not None:
        sinks.append(tracer)
    return TraceSinks(sinks)
