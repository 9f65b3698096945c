"""``mcploom.graphs._nodes``: LangGraph's private node wrapper is in use, and the public fallback works."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from mcploom.graphs import _nodes
from mcploom.graphs.react import build_react_graph
from tests.fakes import ScriptedChatModel, tool_call
from tests.graphs.tools import multiply


def test_the_fast_node_wrapper_is_still_where_mcploom_imports_it_from() -> None:
    assert _nodes.RunnableCallable is not None, (
        "langgraph._internal._runnable.RunnableCallable has moved (a LangGraph release changed its private "
        "modules). mcploom still works on the public RunnableLambda fallback, but ReAct rounds are slower "
        "(benchmarks/react_overhead.py). Find RunnableCallable's new home and update graphs/_nodes.py."
    )


@pytest.mark.parametrize("fallback", [False, True])
async def test_graphs_run_on_either_wrapper(monkeypatch: pytest.MonkeyPatch, fallback: bool) -> None:
    if fallback:
        monkeypatch.setattr(_nodes, "RunnableCallable", None)
    graph = build_react_graph(model=ScriptedChatModel.script([tool_call("multiply", a=2, b=3), "6"]), tools=[multiply])
    state = await graph.ainvoke({"messages": [("user", "2*3?")]})
    assert isinstance(state["messages"][-1], AIMessage) and state["messages"][-1].content == "6"
    again = build_react_graph(model=ScriptedChatModel.script([tool_call("multiply", a=1, b=2), "2"]), tools=[multiply])
    assert again.invoke({"messages": [("user", "1*2?")]})["messages"][-1].content == "2"
