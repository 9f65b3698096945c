"""An ``Agent`` run that test_checkpoints.py kills with SIGKILL mid-run, and the tools it uses.

The scripted model calls ``record`` (appends a line to a counter file), then ``block`` (waits
while a flag file exists), then answers. The process is killed at one of two moments:

- ``in-block``: the parent kills it while ``block`` waits (``started`` tells it when).
- ``at-next-model-call``: it kills itself as the model is called after ``record``, the moment
  a checkpoint written in the background (``durability="async"``) may still be in flight.

The parent then resumes the thread from the same SQLite file. Run it as
``python -m tests.agents.crash_child DB COUNTER FLAG STARTED THREAD_ID MOMENT`` from the
repository root.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import BaseTool, tool

from mcploom.agents.agent import Agent
from tests.fakes import ScriptedChatModel, tool_call

Moment = Literal["in-block", "at-next-model-call"]
"""When the run is killed: inside the ``block`` tool, or as the model is called after ``record``."""

QUESTION = "Record a visit, then wait."
ANSWER = "Recorded one visit and waited."


def script() -> list[AIMessage]:
    """The model's turns for the whole run."""
    return [tool_call("record"), tool_call("block"), AIMessage(ANSWER)]


class SelfKillingChatModel(ScriptedChatModel):
    """Sends the process SIGKILL on its second call, before replying."""

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        if len(self.seen) == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return super()._generate(messages, *args, **kwargs)


def crash_tools(counter: Path, flag: Path, started: Path) -> list[BaseTool]:
    """``record`` appends to ``counter``; ``block`` touches ``started``, then waits while ``flag`` exists."""

    @tool
    def record() -> str:
        """Record one visit."""
        with counter.open("a") as file:
            file.write("visit\n")
        return f"recorded visit {len(counter.read_text().splitlines())}"

    @tool
    def block() -> str:
        """Wait until released."""
        started.touch()
        while flag.exists():
            time.sleep(0.02)
        return "released"

    return [record, block]


async def run(db: Path, counter: Path, flag: Path, started: Path, thread_id: str, moment: Moment) -> None:
    model_class = SelfKillingChatModel if moment == "at-next-model-call" else ScriptedChatModel
    tools = crash_tools(counter, flag, started)
    async with Agent(model=model_class.script(script()), tools=tools, checkpointer=db) as agent:
        await agent.arun(QUESTION, thread_id=thread_id)


if __name__ == "__main__":
    db, counter, flag, started, thread_id, moment = sys.argv[1:7]
    asyncio.run(run(Path(db), Path(counter), Path(flag), Path(started), thread_id, moment))  # type: ignore[arg-type]
