"""Query transforms that use any LLM given as a plain callable ``llm(prompt) -> text``.

A transform turns one query into several query texts; ``Index.search(..., transform=...)`` retrieves
for each and fuses the rankings with RRF. ``rag`` never imports a model library for this.

Example:
    >>> fake_llm = lambda prompt: "1. effects of aspirin on the heart\\n2. aspirin cardiovascular risk"
    >>> multi_query(fake_llm, n=2)("does aspirin help the heart?")
    ['does aspirin help the heart?', 'effects of aspirin on the heart', 'aspirin cardiovascular risk']
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mcploom.rag.errors import ConfigurationError

__all__ = ["LLM", "QueryTransform", "hyde", "multi_query"]

LLM = Callable[[str], str]
"""Any text-in, text-out model call (a LangChain model wrapped in a lambda, an HTTP client, ...)."""

QueryTransform = Callable[[str], list[str]]
"""Maps a query to the query texts to retrieve with; the original query comes first."""

MULTI_QUERY_PROMPT = (
    "Write {n} different search queries that would find documents answering the question below. "
    "Vary the wording and use synonyms. One query per line, no numbering, no other text.\n\n"
    "Question: {query}"
)
HYDE_PROMPT = (
    "Write a short passage (3-5 sentences) from a reference document that answers the question below. "
    "Write only the passage.\n\nQuestion: {query}"
)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")


def multi_query(llm: LLM, n: int = 3, prompt: str = MULTI_QUERY_PROMPT) -> QueryTransform:
    """Rewrite the query ``n`` ways (seed Q8 "multi-query"); the original is kept first.

    Raises:
        ConfigurationError: ``n < 1``.
    """
    if n < 1:
        raise ConfigurationError(f"multi_query needs n >= 1, got {n}.")

    def transform(query: str) -> list[str]:
        lines = [_BULLET.sub("", line).strip().strip('"') for line in llm(prompt.format(n=n, query=query)).splitlines()]
        variants = [query]
        for line in lines:
            if line and line.lower() not in {v.lower() for v in variants}:
                variants.append(line)
        return variants[: n + 1]

    return transform


def hyde(llm: LLM, prompt: str = HYDE_PROMPT) -> QueryTransform:
    """Hypothetical document embeddings: retrieve with the query and with an LLM-written answer passage.

    Example:
        >>> hyde(lambda p: "Aspirin lowers the risk of heart attack.")("aspirin and the heart?")
        ['aspirin and the heart?', 'Aspirin lowers the risk of heart attack.']
    """

    def transform(query: str) -> list[str]:
        passage = llm(prompt.format(query=query)).strip()
        return [query, passage] if passage else [query]

    return transform
