"""What the benchmark scripts share: how they describe the machine, and the scripted ReAct round
(a fake model that asks for ``calculate("1234 * 5678")`` and then answers) several of them time."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

from langchain_core.messages import AIMessage
from langchain_core.tools import tool

from tests.fakes import tool_call

__all__ = ["ANSWER", "EXPRESSION", "calculate", "cpu_name", "hardware", "load", "scripted_round", "versions"]

EXPRESSION = "1234 * 5678"
ANSWER = "1234 * 5678 = 7006652."


@tool
def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression exactly (benchmark stand-in: products of two integers)."""
    left, right = expression.split("*")
    return str(int(left) * int(right))


def scripted_round() -> Iterator[AIMessage]:
    """The fake model's replies, fresh message objects each round (graphs mutate ids in place)."""
    while True:
        yield tool_call("calculate", expression=EXPRESSION)
        yield AIMessage(ANSWER)


def cpu_name() -> str:
    """The CPU model from ``/proc/cpuinfo`` (or what ``platform`` knows)."""
    cpuinfo = Path("/proc/cpuinfo")
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load() -> str:
    """The load averages, ``"1.0, 0.8, 0.5"``."""
    return ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def hardware() -> str:
    """CPU, core count, load average now, Python version: one line for a results table."""
    return (
        f"{cpu_name()}, `nproc` {os.cpu_count()} (load average at start: {load()}); Python {platform.python_version()}"
    )


def versions(*names: str) -> str:
    """``"langgraph 1.2.24, mcp 2.3.0"`` for the named distributions (default: the agent stack)."""
    return ", ".join(f"{name} {version(name)}" for name in names or ("langchain", "langgraph", "langchain-core", "mcp"))
