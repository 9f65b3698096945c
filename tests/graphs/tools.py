"""Small tools the graph tests share, and the log they write: ``calls`` (multiply) and ``spans``
(slow_echo's start and end times). ``conftest.py`` clears both before each test."""

from __future__ import annotations

import time

from langchain_core.tools import ToolException, tool

calls: list[str] = []
spans: list[tuple[float, float]] = []


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    calls.append(f"multiply({a},{b})")
    return a * b


@tool
def slow_echo(text: str) -> str:
    """Echo after a pause."""
    started = time.perf_counter()
    time.sleep(0.3)
    spans.append((started, time.perf_counter()))
    return text


@tool
def broken(x: int) -> int:
    """Always fails."""
    raise ToolException(f"broken cannot handle {x}; try multiply instead")


def assert_overlapping() -> None:
    """The slow tool calls ran at the same time (robust to a loaded machine, unlike total time)."""
    (first_start, first_end), (second_start, second_end) = sorted(spans)
    assert second_start < first_end, f"the second call started {second_start - first_end:.2f} s after the first ended"
