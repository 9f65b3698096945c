"""Glob matching for the files server's ``search``, in time bounded by the lengths, whatever the pattern.

A glob compiled to one regex backtracks catastrophically: ``*a*a*a*a*a*a*a*a*a*a*a*a*b`` took
1.3 s on a 28-character name and grew combinatorially with the stars, freezing the server.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

__all__ = ["MAX_PATTERN_CHARS", "glob_matcher"]

MAX_PATTERN_CHARS = 1000
"""The longest glob ``search`` takes."""


def glob_matcher(pattern: str, *, case_sensitive: bool = True) -> Callable[[str], bool]:
    """A test for '/'-paths: does the glob ``pattern`` match the whole path?

    ``*`` matches any run of characters but '/', ``?`` one character, ``[abc]``, ``[a-z]`` one of
    a set (``[!...]`` or ``[^...]``: one not in it; an unclosed ``[`` is a literal), and ``**``
    as a whole segment any number of directories, none included. The time is bounded by the
    product of the lengths, whatever the pattern: segments are matched by dynamic programming,
    and within a segment the fixed parts between stars are placed leftmost, one after the other,
    so nothing backtracks.

    Raises:
        ValueError: The pattern is longer than ``MAX_PATTERN_CHARS`` or has a range written high
            to low (``[z-a]``); the message says how to write it.

    Example:
        >>> glob_matcher("**/*.py")("a/b/c.py"), glob_matcher("*.py")("a/c.py")
        (True, False)
    """
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(
            f"Pattern is {len(pattern)} characters long; the limit is {MAX_PATTERN_CHARS}. Use a shorter glob."
        )
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    # None stands for a '**' segment; consecutive ones match what one does.
    parts: list[Callable[[str], bool] | None] = []
    for segment in pattern.split("/"):
        if segment != "**":
            parts.append(_segment_matcher(segment, pattern, flags))
        elif not parts or parts[-1] is not None:
            parts.append(None)

    if len(parts) == 1 and parts[0] is not None:  # one name, the common case: no positions to track
        only = parts[0]
        return lambda path: "/" not in path and only(path)
    # A position in ``parts`` also reaches the ones after it that a '**' matching nothing skips.
    reach = [frozenset(range(i, _next_name_part(parts, i) + 1)) for i in range(len(parts) + 1)]

    def step(states: frozenset[int], name: str) -> frozenset[int]:
        """The positions reachable once ``name``, the next segment of the path, is consumed."""
        following: set[int] = set()
        for i in states:
            if i == len(parts):
                continue  # the pattern is used up: no further name can match
            part = parts[i]
            if part is None:
                following |= reach[i]  # '**' takes this name and may take more
            elif part(name):
                following |= reach[i + 1]
        return frozenset(following)

    @functools.lru_cache(maxsize=256)
    def after_folder(folder: str) -> frozenset[int]:
        # Cached: the files of one folder, matched one after another, share this work.
        states = reach[0]
        for name in folder.split("/"):
            states = step(states, name)
        return states

    def matches(path: str) -> bool:
        folder, slash, name = path.rpartition("/")
        return len(parts) in step(after_folder(folder) if slash else reach[0], name)

    return matches


def _next_name_part(parts: Sequence[Callable[[str], bool] | None], i: int) -> int:
    """The first position from ``i`` on that is not '**' (``len(parts)`` if none)."""
    while i < len(parts) and parts[i] is None:
        i += 1
    return i


def _segment_matcher(segment: str, pattern: str, flags: int) -> Callable[[str], bool]:
    """A test for one name against a glob segment (no '/'), linear in the name for each star.

    The segment is cut at its stars into chunks of fixed width (each atom is one character), each
    compiled to a regex with no repetition. The first chunk must match at the start, the last at
    the end, and each middle one is searched leftmost after the previous: the leftmost place is
    never worse, so no choice has to be undone.
    """
    chunks: list[list[str]] = [[]]
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            if i == 0 or segment[i - 1] != "*":  # '**' inside a segment is one '*'
                chunks.append([])
            i += 1
        elif char == "?":
            chunks[-1].append(".")
            i += 1
        elif char == "[" and (parsed := _glob_class(segment, i, pattern)) is not None:
            atom, i = parsed
            chunks[-1].append(atom)
        else:
            chunks[-1].append(re.escape(char))
            i += 1
    regexes = [re.compile("".join(atoms), flags) for atoms in chunks]
    widths = [len(atoms) for atoms in chunks]
    if len(chunks) == 1:
        return lambda name: regexes[0].fullmatch(name) is not None
    first, *middle, last = zip(regexes, widths, strict=True)

    def matches(name: str) -> bool:
        end = len(name) - last[1]  # where the last chunk must start
        if end < first[1] or not first[0].match(name) or not last[0].fullmatch(name, end):
            return False
        position = first[1]
        for regex, _ in middle:
            found = regex.search(name, position, end)
            if found is None:
                return False
            position = found.end()
        return True

    return matches


def _glob_class(segment: str, start: int, pattern: str) -> tuple[str, int] | None:
    """The regex for the ``[...]`` class at ``segment[start]`` and the index after it; None if unclosed.

    A ']' right after '[' (or '[!') is a member, as in fnmatch; '-' first or last is a member.
    """
    i = start + 1
    negate = segment[i : i + 1] in ("!", "^")
    if negate:
        i += 1
    close = segment.find("]", i + 1)
    if close == -1:
        return None
    body = segment[i:close]
    members: list[str] = []
    j = 0
    while j < len(body):
        if j + 2 < len(body) and body[j + 1] == "-":
            low, high = body[j], body[j + 2]
            if low > high:
                raise ValueError(
                    f"Pattern {pattern!r} has the range '{low}-{high}' in {segment[start : close + 1]!r}, "
                    f"which runs backwards. Write ranges low to high, as in '[{high}-{low}]'; to match "
                    "'-' itself, put it first or last in the brackets."
                )
            members.append(f"{re.escape(low)}-{re.escape(high)}")
            j += 3
        else:
            members.append(re.escape(body[j]))
            j += 1
    return ("[^" if negate else "[") + "".join(members) + "]", close + 1
