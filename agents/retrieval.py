"""Retrieval first: when an mcploom rag server is bound, a new question is searched before the
model's first turn, and the passages on its topic are put in the thread as that search's call
and result, so the model reads them without having to choose the search itself.

Small models rarely choose it (Qwen2.5 0.5B and 1.5B answered document questions from their own
memory: ``benchmarks/agent_tasks.py``). Passages whose embedding is not close to the question's
(cosine below :data:`MIN_RELEVANCE`) are not shown: a question about something else gets no
search in its thread, and its prompt stays the same as without a rag server.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.tools import BaseTool, ToolException

from mcploom.agents.mcp_client import ServerInfo, server_tools

__all__ = ["MIN_RELEVANCE", "RAG_SERVER", "Prefetch"]

logger = logging.getLogger(__name__)

RAG_SERVER = "mcploom-rag"
"""The name our rag server reports for itself (``serverInfo.name``)."""

MIN_RELEVANCE = 0.4
"""Least cosine similarity (all-MiniLM-L6-v2) of a passage to the question for it to be shown.
On the agent task suite's documents, the questions about them scored 0.48-0.75 and every other
question (arithmetic, SQL, time, small talk) 0.33 or less."""

PASSAGES = 3
"""How many passages are fetched."""

SENTENCES = 4
"""How many of their sentences the model is shown."""

_HEADING_WEIGHT = 0.0
"""Weight of a line without a full stop (a title or heading). Shown one, the 0.5B model searched
for it again and answered with the whole passage that search gave (agent tasks, docs family)."""
_SUFFIX = re.compile(r"(?<=\w{3})(?:ing|ed|es|s)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_STOPWORDS = frozenset(
    "the and for are was were what which who whom how many much does did with from that this these those "
    "into about your you our their there when where why can could should would will shall its it's has have "
    "had not but all any each per than then them they".split()
)


class Prefetch:
    """The search that runs before the model's first turn, over one rag server's ``search`` tool."""

    def __init__(self, tool: BaseTool, *, min_relevance: float = MIN_RELEVANCE, k: int = PASSAGES) -> None:
        self.tool, self.min_relevance, self.k = tool, min_relevance, k

    @classmethod
    def find(cls, servers: Mapping[str, ServerInfo], tools: Sequence[BaseTool]) -> Prefetch | None:
        """The prefetch over the first bound mcploom rag server, or ``None`` when there is none."""
        found = server_tools(servers, tools, RAG_SERVER, "search")
        return cls(found[0]) if found else None

    async def messages(self, question: str) -> list[AnyMessage]:
        """The search's call and its on-topic passages as thread messages; none when nothing is on topic."""
        call = {
            "name": self.tool.name,
            "args": {"query": question, "k": self.k},
            "id": f"call_prefetch_{uuid.uuid4().hex[:12]}",
            "type": "tool_call",
        }
        try:
            result = await self.tool.ainvoke(call)
        except ToolException as exc:
            logger.warning("The search before the first turn failed, so the model goes without: %s", exc)
            return []
        passages = _on_topic(result.artifact, self.min_relevance)
        if not passages:
            return []
        context = "\n".join(_best_sentences(question, passages))
        return [
            AIMessage("", tool_calls=[call]),
            ToolMessage(context, tool_call_id=call["id"], name=self.tool.name, artifact=result.artifact),
        ]


def _on_topic(artifact: Any, floor: float) -> list[dict[str, Any]]:
    passages = artifact.get("passages", []) if isinstance(artifact, dict) else []
    return [p for p in passages if (p.get("relevance") or 0.0) >= floor]


def _best_sentences(question: str, passages: Sequence[Mapping[str, Any]]) -> list[str]:
    """The :data:`SENTENCES` sentences of ``passages`` that share the most words with ``question``, in
    reading order. A small model given whole passages answered with their first line (a title)."""
    wanted = _words(question)
    sentences = [
        sentence.strip(" #-*")
        for passage in passages
        for sentence in _SENTENCE_END.split(passage.get("text", ""))
        if sentence.strip(" #-*")
    ]
    words = [_words(sentence) for sentence in sentences]
    # A question word found in few sentences says more than one found in all (the product's name).
    spread = {word: sum(word in these for these in words) for word in wanted}
    weight = [
        sum(1 / spread[word] for word in wanted & these) * (1.0 if sentence[-1:] in ".!?" else _HEADING_WEIGHT)
        for sentence, these in zip(sentences, words, strict=True)
    ]
    ranked = sorted(range(len(sentences)), key=lambda i: (-weight[i], i))
    keep = sorted(i for i in ranked[:SENTENCES] if weight[i] > 0)
    return [sentences[i] for i in keep] or sentences[:SENTENCES]


def _words(text: str) -> set[str]:
    """The content words of ``text``, crudely stemmed (``approves`` and ``approved`` meet)."""
    return {
        _SUFFIX.sub("", word)
        for word in re.findall(r"[a-z0-9]+", text.lower())
        if (len(word) > 2 or any(c.isdigit() for c in word)) and word not in _STOPWORDS
    }
