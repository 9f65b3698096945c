"""Metadata filters in Chroma's ``where`` syntax, evaluated the same way for the BM25 side.

Supported: ``{"field": value}``, ``{"field": {"$eq"|"$ne"|"$gt"|"$gte"|"$lt"|"$lte"|"$in"|"$nin": v}}``,
``{"$and": [...]}``, ``{"$or": [...]}``; several fields in one dict mean "all of them".

Example:
    >>> allowed = compile_filter({"lang": "en", "year": {"$gte": 2020}})
    >>> allowed({"lang": "en", "year": 2021}), allowed({"lang": "de", "year": 2021})
    (True, False)
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from mcploom.rag.errors import ConfigurationError

__all__ = ["Where", "compile_filter", "to_chroma_where"]

Where = dict[str, Any]
"""A metadata filter in Chroma's ``where`` syntax."""

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": operator.eq,
    "$ne": operator.ne,
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
    "$in": lambda value, options: value in options,
    "$nin": lambda value, options: value not in options,
}


def _bad(where: Any, why: str) -> ConfigurationError:
    return ConfigurationError(
        f"Invalid metadata filter {where!r}: {why}. Use e.g. {{'source': 'a.md'}} or "
        "{'year': {'$gte': 2020}}, combined with {'$and': [...]} / {'$or': [...]}."
    )


def to_chroma_where(where: Where | None) -> Where | None:
    """Normalise a filter for Chroma (several fields become an explicit ``$and``), validating it."""
    if not where:
        return None
    compile_filter(where)
    return _normalise(where)


def _normalise(where: Where) -> Where:
    if len(where) > 1:
        return {"$and": [_normalise({key: value}) for key, value in where.items()]}
    ((key, value),) = where.items()
    if key in ("$and", "$or"):
        return {key: [_normalise(part) for part in value]}
    return where


def compile_filter(where: Where | None) -> Callable[[dict[str, Any]], bool]:
    """Build a predicate over a chunk's metadata.

    Raises:
        ConfigurationError: Unknown operator or malformed filter.
    """
    if not where:
        return lambda meta: True
    if not isinstance(where, dict):
        raise _bad(where, "a filter must be a dict")
    tests = [_compile_one(key, value, where) for key, value in where.items()]
    return lambda meta: all(test(meta) for test in tests)


def _compile_one(key: str, value: Any, where: Where) -> Callable[[dict[str, Any]], bool]:
    if key in ("$and", "$or"):
        if not isinstance(value, list) or not value:
            raise _bad(where, f"{key} needs a non-empty list of filters")
        parts = [compile_filter(part) for part in value]
        combine = all if key == "$and" else any
        return lambda meta: combine(part(meta) for part in parts)
    if key.startswith("$"):
        raise _bad(where, f"unknown operator {key!r}")
    if isinstance(value, dict):
        if len(value) != 1:
            raise _bad(where, f"field {key!r} needs exactly one operator")
        ((op, operand),) = value.items()
        if op not in _OPS:
            raise _bad(where, f"unknown operator {op!r} (known: {', '.join(_OPS)})")
        if op in ("$in", "$nin") and not isinstance(operand, list):
            raise _bad(where, f"{op} needs a list")
        test = _OPS[op]

        def check(meta: dict[str, Any]) -> bool:
            if key not in meta:
                return op in ("$ne", "$nin")
            try:
                return bool(test(meta[key], operand))
            except TypeError:
                return False

        return check
    return lambda meta: key in meta and meta[key] == value
