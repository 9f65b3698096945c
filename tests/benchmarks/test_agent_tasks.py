"""The agent task suite's data and scorer: every expected answer computes, the splits are fixed,
and the scoring is strict (no substring luck, no rival names, no tool where none fits)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.agent_tasks import FAMILIES, Task, build_shop, clocks, load_tasks, numbers, score


@pytest.fixture(scope="module")
def tasks(tmp_path_factory: pytest.TempPathFactory) -> list[Task]:
    shop = tmp_path_factory.mktemp("shop") / "shop.db"
    build_shop(shop)
    return load_tasks(shop)


def test_sixty_tasks_in_every_family_split_in_half(tasks: list[Task]) -> None:
    assert len(tasks) >= 60
    for family in FAMILIES:
        mine = [t for t in tasks if t.family == family]
        assert len(mine) >= 8
        assert abs(sum(t.split == "score" for t in mine) - len(mine) / 2) <= 0.5
    assert len({t.id for t in tasks}) == len(tasks)


def test_the_shop_is_the_same_every_time(tmp_path: Path, tasks: list[Task]) -> None:
    build_shop(tmp_path / "again.db")
    assert load_tasks(tmp_path / "again.db") == tasks


def test_numbers_are_whole_tokens() -> None:
    assert numbers("Total: 1,234.5 euros, v2.3, error E4, 12 and -3.") == [1234.5, 12.0, -3.0]
    assert 12.0 not in numbers("There are 112 orders.")


def test_clock_times_in_either_notation_and_offsets_skipped() -> None:
    assert clocks("2026-03-10T18:00:00+09:00") == {"18:00"}
    assert clocks("6:30 PM, 7 am, 12 AM, at 10") == {"18:30", "07:00", "00:00"}


NUMBER = Task("t", "arithmetic", "score", "What is 17% of 2450?", number=416.5)
NAME = Task("t", "sql", "score", "Which city?", text="Porto", distractors=("Lyon", "Oslo"))
NO_TOOL = Task("t", "no_tool", "score", "Hi!", no_tool=True)
CALL = [{"name": "calculate", "args": {}, "id": "1"}]


@pytest.mark.parametrize(
    ("task", "answer", "calls", "right"),
    [
        (NUMBER, "17% of 2450 is 416.5.", CALL, True),
        (NUMBER, "It is 416.50 euros.", CALL, True),
        (NUMBER, "It is 4165.", CALL, False),
        (NUMBER, "1 2 3 4 5 416.5", CALL, False),  # the right number among many guesses
        (NUMBER, "", CALL, False),
        (NAME, "Porto has the most customers.", CALL, True),
        (NAME, "Porto or Lyon.", CALL, False),
        (NAME, "Portobello.", CALL, False),
        (NO_TOOL, "Hello! I am fine.", [], True),
        (NO_TOOL, "Hello! I am fine.", CALL, False),
    ],
)
def test_scoring_is_strict(task: Task, answer: str, calls: list[dict], right: bool) -> None:
    assert score(task, answer, calls)[0] is right
