"""Which calls count as repeats, so that ChatLlamaCpp decodes an answer instead (no model needed)."""

from __future__ import annotations

from mcploom.local_models.chat_model import _reapplied

CONVERT = {"time": "2026-01-15T08:00", "from_timezone": "Australia/Sydney", "to_timezone": "UTC"}
CONVERTED = '{"timezone": "UTC", "date": "2026-01-14", "time": "21:00", "iso": "2026-01-14T21:00:00+00:00"}'


def test_a_conversion_run_again_on_its_own_result_is_a_repeat():
    assert _reapplied(CONVERT, {**CONVERT, "time": "2026-01-14T21:00"}, CONVERTED)
    # Half from the result, half from the first call (the date moved on, the clock kept): still a re-run.
    assert _reapplied(CONVERT, {**CONVERT, "time": "2026-01-14T08:00"}, CONVERTED)


def test_a_new_value_or_a_next_step_is_not_a_repeat():
    assert not _reapplied(CONVERT, {**CONVERT, "time": "2026-01-15T17:30"}, CONVERTED)  # another time asked for
    # The result converted on to a third zone: two arguments changed, a chain step.
    chained = {"time": "2026-01-14T21:00", "from_timezone": "UTC", "to_timezone": "Asia/Tokyo"}
    assert not _reapplied(CONVERT, chained, CONVERTED)
    assert not _reapplied(CONVERT, {**CONVERT, "to_timezone": "Europe/Paris"}, CONVERTED)  # nothing from the result


def test_a_one_argument_call_on_its_own_result_is_a_chain_step():
    assert not _reapplied({"expression": "2^20"}, {"expression": "1048576 / 2"}, '{"result": 1048576}')
