"""Run traces: JSONL files and OpenTelemetry spans made from the typed events of a run."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from mcploom.agents import tracing
from mcploom.agents.errors import ConfigError
from mcploom.agents.events import (
    Answer,
    ApprovalRequest,
    Critique,
    Handoff,
    ModelUsage,
    NodeEnd,
    NodeStart,
    PendingCall,
    PlanUpdate,
    StepResult,
    Token,
    ToolCall,
    ToolResult,
)
from mcploom.agents.tracing import JsonlTrace, OtelTracer, TraceSinks, open_sinks, otel_tracer, trace_path

PLAN = [{"id": 1, "task": "Multiply 6 by 7", "depends_on": []}]

EVERY_EVENT = [
    NodeStart("plan"),
    ModelUsage("claude-sonnet-4-5-20250929", 1000, 20, 0.0033),
    PlanUpdate(PLAN),
    NodeEnd("plan"),
    NodeStart("execute"),
    NodeStart("agent", ("execute",)),
    Token("Let me ", "agent"),
    ModelUsage("claude-sonnet-4-5-20250929", 1100, 10, 0.00345),
    NodeEnd("agent", ("execute",)),
    ToolCall("multiply", {"a": 6, "b": 7}, "call_1", ("execute",)),
    NodeStart("tools", ("execute",)),
    ToolResult("multiply", "42", "call_1", artifact={"structured": 42}, path=("execute",)),
    NodeEnd("tools", ("execute",)),
    NodeEnd("execute"),
    StepResult(1, "Multiply 6 by 7", "42"),
    Critique(1, 9, "Correct."),
    Handoff("FINISH", ""),
    Answer("42", {"input_tokens": 2100, "output_tokens": 30, "total_tokens": 2130}, 0.00675),
]


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --- JSONL ---------------------------------------------------------------------------------


def test_jsonl_writes_one_object_per_event_with_its_fields(tmp_path):
    events = [*EVERY_EVENT, ApprovalRequest([PendingCall("delete", {"path": "x"}, "call_2")], "t1")]
    with JsonlTrace(tmp_path / "t1.jsonl", thread_id="t1", run_id="r1") as trace_file:
        for event in events:
            trace_file.write(event)
    records = lines(tmp_path / "t1.jsonl")
    assert [r["type"] for r in records] == [type(e).__name__ for e in events]
    assert {r["run_id"] for r in records} == {"r1"} and {r["thread_id"] for r in records} == {"t1"}
    assert all(isinstance(r["ts"], float) for r in records)
    assert [r["ts"] for r in records] == sorted(r["ts"] for r in records)
    assert {key: records[5][key] for key in ("type", "node", "path")} == {
        "type": "NodeStart",
        "node": "agent",
        "path": ["execute"],
    }
    assert records[9] | {"ts": 0} == {
        "ts": 0,
        "type": "ToolCall",
        "run_id": "r1",
        "thread_id": "t1",
        "name": "multiply",
        "args": {"a": 6, "b": 7},
        "id": "call_1",
        "path": ["execute"],
    }
    assert records[11]["artifact"] == {"structured": 42}
    assert records[-1]["calls"] == [{"name": "delete", "args": {"path": "x"}, "id": "call_2"}]


def test_jsonl_writes_what_json_cannot_hold_as_text(tmp_path):
    class Blob:
        def __str__(self) -> str:
            return "<blob>"

    with JsonlTrace(tmp_path / "t.jsonl") as trace_file:
        trace_file.write(ToolResult("fetch", "ok", "call_1", artifact=Blob()))
    assert lines(tmp_path / "t.jsonl")[0]["artifact"] == "<blob>"


def test_jsonl_runs_of_a_thread_append_to_one_file(tmp_path):
    path = tmp_path / "traces" / "t1.jsonl"  # the folder is created
    for answer in ("first", "second"):
        with JsonlTrace(path, thread_id="t1") as trace_file:
            trace_file.write(NodeStart("agent"))
            trace_file.write(Answer(answer))
    records = lines(path)
    assert [r.get("text") for r in records] == [None, "first", None, "second"]
    assert records[0]["run_id"] == records[1]["run_id"] != records[2]["run_id"] == records[3]["run_id"]


def test_jsonl_keeps_what_happened_before_a_crash(tmp_path):
    path = tmp_path / "t.jsonl"
    with pytest.raises(RuntimeError), JsonlTrace(path) as trace_file:
        trace_file.write(NodeStart("agent"))
        trace_file.write(ToolCall("add", {"a": 1}, "call_1"))
        assert len(lines(path)) == 2  # flushed while the run is still going
        raise RuntimeError("the model server went away")
    assert [r["type"] for r in lines(path)] == ["NodeStart", "ToolCall"]


def test_jsonl_unwritable_path_is_a_config_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"At trace path .*file/t\.jsonl.*Pass a path in a writable folder"):
        JsonlTrace(blocker / "t.jsonl")


def test_default_trace_path_is_under_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("MCPLOOM_HOME", str(tmp_path))
    assert trace_path("abc") == tmp_path / "traces" / "abc.jsonl"


# --- OpenTelemetry ------------------------------------------------------------------------


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter) -> TracerProvider:
    """A local provider (never the global one, so tests don't leak spans or settings)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def run_spans(provider, exporter, events, *, close: bool = True) -> dict[str, ReadableSpan]:
    tracer = OtelTracer(provider.get_tracer("test"), thread_id="t1", pattern="plan_execute", model="anthropic:x")
    for event in events:
        tracer.write(event)
    if close:
        tracer.close()
    return {span.name: span for span in exporter.get_finished_spans()}


def parent_name(span: ReadableSpan, spans: dict[str, ReadableSpan]) -> str | None:
    by_id = {s.context.span_id: name for name, s in spans.items()}
    return by_id.get(span.parent.span_id) if span.parent else None


def test_otel_spans_nest_nodes_and_tools_under_the_run(provider, exporter):
    spans = run_spans(provider, exporter, EVERY_EVENT)
    assert set(spans) == {"invoke_agent plan_execute", "plan", "execute", "agent", "tools", "execute_tool multiply"}
    assert {name: parent_name(span, spans) for name, span in spans.items()} == {
        "invoke_agent plan_execute": None,
        "plan": "invoke_agent plan_execute",
        "execute": "invoke_agent plan_execute",
        "agent": "execute",
        "tools": "execute",
        "execute_tool multiply": "execute",
    }
    assert len({span.context.trace_id for span in spans.values()}) == 1
    run = spans["invoke_agent plan_execute"]
    assert dict(run.attributes) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "mcploom",
        "gen_ai.conversation.id": "t1",
        "gen_ai.request.model": "anthropic:x",
        "mcploom.pattern": "plan_execute",
        "gen_ai.usage.input_tokens": 2100,
        "gen_ai.usage.output_tokens": 30,
        "mcploom.cost_usd": pytest.approx(0.00675),
    }
    assert run.status.status_code is StatusCode.UNSET
    assert spans["agent"].attributes["mcploom.path"] == ("execute",)
    tool = spans["execute_tool multiply"]
    assert dict(tool.attributes) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "multiply",
        "gen_ai.tool.call.id": "call_1",
    }
    assert tool.status.status_code is StatusCode.UNSET


def test_otel_usage_and_pattern_progress_are_span_events(provider, exporter):
    run = run_spans(provider, exporter, EVERY_EVENT)["invoke_agent plan_execute"]
    assert [e.name for e in run.events] == [
        "gen_ai.usage",
        "PlanUpdate",
        "gen_ai.usage",
        "StepResult",
        "Critique",
        "Handoff",
    ]
    assert dict(run.events[0].attributes) == {
        "gen_ai.response.model": "claude-sonnet-4-5-20250929",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 20,
        "mcploom.cost_usd": 0.0033,
    }
    assert json.loads(run.events[1].attributes["steps"]) == PLAN
    assert dict(run.events[4].attributes) == {"round": 1, "score": 9, "feedback": "Correct."}


def test_otel_failed_tool_has_error_status(provider, exporter):
    events = [
        ToolCall("divide", {"a": 1, "b": 0}, "call_1"),
        ToolResult("divide", "division by zero; pass b != 0", "call_1", is_error=True),
        ModelUsage("mystery", 5, 5, None),
        Answer("I could not divide."),
    ]
    spans = run_spans(provider, exporter, events)
    tool = spans["execute_tool divide"]
    assert tool.status.status_code is StatusCode.ERROR
    assert tool.status.description == "division by zero; pass b != 0"
    assert tool.attributes["error.type"] == "tool_error"
    assert parent_name(tool, spans) == "invoke_agent plan_execute"
    assert "mcploom.cost_usd" not in spans["invoke_agent plan_execute"].attributes  # one price unknown


def test_otel_approval_request_ends_the_run_as_paused(provider, exporter):
    events = [
        NodeStart("agent"),
        NodeEnd("agent"),
        ToolCall("delete", {"path": "x"}, "call_1"),
        NodeStart("approve"),
        ApprovalRequest([PendingCall("delete", {"path": "x"}, "call_1")], "t1"),
    ]
    spans = run_spans(provider, exporter, events, close=False)
    run = spans["invoke_agent plan_execute"]
    assert run.attributes["mcploom.paused"] is True
    assert run.attributes["mcploom.pending_tools"] == ("delete",)
    assert run.status.status_code is StatusCode.UNSET
    # Spans still open when the run pauses end with it; the unanswered call says so.
    assert set(spans) == {"invoke_agent plan_execute", "agent", "approve", "execute_tool delete"}
    assert spans["execute_tool delete"].attributes["error.type"] == "no_result"


def test_otel_run_closed_without_an_answer_is_an_error(provider, exporter):
    spans = run_spans(provider, exporter, [NodeStart("agent")])
    run = spans["invoke_agent plan_execute"]
    assert run.status.status_code is StatusCode.ERROR
    assert "ended before its answer" in run.status.description
    assert "agent" in spans


def test_otel_parallel_runs_of_one_node_each_get_a_span(provider, exporter):
    events = [NodeStart("execute"), NodeStart("execute"), NodeEnd("execute"), NodeEnd("execute"), Answer("done")]
    run_spans(provider, exporter, events)
    assert [span.name for span in exporter.get_finished_spans()].count("execute") == 2


def test_otel_tracer_is_none_unless_configured(monkeypatch):
    for var in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)  # nothing installed globally
    assert otel_tracer(thread_id="t1", pattern="react", model="local") is None


def test_otel_tracer_uses_a_given_provider(provider, exporter):
    tracer = otel_tracer(thread_id="t1", pattern="react", model="local", provider=provider)
    assert tracer is not None
    tracer.write(Answer("hi"))
    assert [span.name for span in exporter.get_finished_spans()] == ["invoke_agent react"]


@pytest.mark.parametrize(
    ("env", "processors"),
    [
        ({}, None),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, None),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}, None),
        ({"OTEL_TRACES_EXPORTER": "console"}, ["ConsoleSpanExporter"]),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            ["OTLPSpanExporter"],
        ),
        ({"OTEL_TRACES_EXPORTER": "console,zipkin"}, None),  # one it cannot set up: none, with a warning
    ],
)
def test_provider_from_env(monkeypatch, env: dict[str, str], processors: list[str] | None):
    for var in ("OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED", *tracing._ENDPOINT_VARS, "OTEL_EXPORTER_OTLP_PROTOCOL"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    provider = tracing._provider_from_env()
    if processors is None:
        assert provider is None
        return
    try:
        exporters = [p.span_exporter for p in provider._active_span_processor._span_processors]
        assert [type(e).__name__ for e in exporters] == processors
        assert provider.resource.attributes["service.name"] == "mcploom"
    finally:
        provider.shutdown()


def test_unsupported_exporter_warns_what_to_do(monkeypatch, caplog):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with caplog.at_level(logging.WARNING, logger="mcploom.agents.tracing"):
        assert tracing._provider_from_env() is None
    assert "sets up only 'otlp' and 'console'" in caplog.text


# --- composition --------------------------------------------------------------------------


def test_open_sinks_writes_the_jsonl_file_and_nothing_else_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    path = tmp_path / "t1.jsonl"
    with open_sinks(path, thread_id="t1", pattern="react", model="local") as sinks:
        assert [type(s) for s in sinks.sinks] == [JsonlTrace]
        sinks.write(Answer("42"))
    assert lines(path)[0]["thread_id"] == "t1"
    assert open_sinks(None, thread_id="t1", pattern="react", model="local").sinks == []


def test_trace_sinks_fan_out_and_close_every_sink_even_when_one_fails(provider, exporter, tmp_path):
    class Broken:
        def write(self, event) -> None:
            pass

        def close(self) -> None:
            raise OSError("disk full")

    jsonl = JsonlTrace(tmp_path / "t.jsonl")
    otel = OtelTracer(provider.get_tracer("test"), thread_id="t1", pattern="react", model="local")
    sinks = TraceSinks([jsonl, Broken(), otel])
    sinks.write(NodeStart("agent"))
    with pytest.raises(OSError, match="disk full"):
        sinks.close()
    assert jsonl._file.closed
    assert {span.name for span in exporter.get_finished_spans()} == {"invoke_agent react", "agent"}
