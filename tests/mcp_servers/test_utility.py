"""The utility server's clock tools through an in-process MCP client: zones as people name them,
times as people write them, and the weekday of a date."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from mcp import Client

from mcploom.mcp_servers.utility import create_server


async def convert(**arguments: Any) -> Any:
    """``convert_time`` called with ``arguments``, the zones UTC where not given."""
    async with Client(create_server()) as client:
        return await client.call_tool("convert_time", {"from_timezone": "UTC", "to_timezone": "UTC", **arguments})


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("Asia/Tokyo", "Asia/Tokyo"),
        ("tokyo", "Asia/Tokyo"),
        ("New York time", "America/New_York"),
        ("São Paulo", "America/Sao_Paulo"),
        ("america/los angeles", "America/Los_Angeles"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("India (Asia/Kolkata)", "Asia/Kolkata"),
        ("GMT", "UTC"),
        ("India", "Asia/Kolkata"),
        ("south korea", "Asia/Seoul"),
        ("UK", "Europe/London"),
        ("Germany", "Europe/Berlin"),  # Busingen keeps the same clock, so Germany has one time
    ],
)
async def test_a_zone_named_as_people_name_it_is_the_iana_zone(name: str, zone: str) -> None:
    result = await convert(time="2026-03-10T09:00", from_timezone="UTC", to_timezone=name)
    expected = datetime(2026, 3, 10, 9, tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(zone))
    assert result.structured_content["timezone"] == zone
    assert result.structured_content["time"] == expected.strftime("%H:%M")


async def test_the_answer_gives_the_date_and_clock_time_in_the_target_zone() -> None:
    result = await convert(time="2026-03-10T20:00", from_timezone="London", to_timezone="Tokyo")
    assert result.structured_content == {
        "timezone": "Asia/Tokyo",
        "date": "2026-03-11",
        "time": "05:00",
        "weekday": "Wednesday",
        "iso": "2026-03-11T05:00:00+09:00",
    }


async def test_an_abbreviation_means_the_zone_in_everyday_use_daylight_saving_included() -> None:
    result = await convert(time="2026-07-04T12:00", from_timezone="UTC", to_timezone="EST")
    assert result.structured_content["time"] == "08:00"  # New York in July is UTC-4, not tzdata's fixed EST


async def test_a_date_alone_gives_its_weekday() -> None:
    result = await convert(time="2026-12-25")
    assert result.structured_content["weekday"] == "Friday"
    assert result.structured_content["date"] == "2026-12-25"


@pytest.mark.parametrize(("text", "clock"), [("9:30 pm", "21:30"), ("6 am", "06:00"), ("2026-12-25 14:05", "14:05")])
async def test_clock_times_as_people_write_them(text: str, clock: str) -> None:
    result = await convert(time=text, from_timezone="Europe/Paris", to_timezone="Europe/Paris")
    assert result.structured_content["time"] == clock
    assert result.structured_content["timezone"] == "Europe/Paris"


async def test_a_clock_time_without_a_date_is_today_in_its_zone() -> None:
    result = await convert(time="10:00", from_timezone="Asia/Tokyo", to_timezone="Asia/Tokyo")
    assert result.structured_content["date"] == datetime.now(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"time": "2026-03-10T09:00", "to_timezone": "Mars"}, "Unknown time zone 'Mars'. Use an IANA name"),
        ({"time": "25:00"}, "Cannot read '25:00' as a date and time; write it like '2026-03-01T09:30'"),
        ({"time": "13 pm"}, "Cannot read '13 pm'"),
        ({"time": "2026-02-30"}, "Cannot read '2026-02-30'"),
        (
            {"time": "now", "to_timezone": "Spain"},
            "Spain has 3 time zones; name a city or one of them, e.g. 'Europe/Madrid'",
        ),
        ({"time": "2026-03-10T09:00" + " and then some" * 10}, "A date and time of 156 characters is not one"),
    ],
)
async def test_a_zone_or_time_it_cannot_read_is_a_one_line_error_saying_how_to_write_it(
    arguments: dict[str, str], message: str
) -> None:
    result = await convert(**arguments)
    assert result.is_error
    text = result.content[0].text
    assert message in text and "\n" not in text


async def test_a_missing_zone_is_an_error_naming_it() -> None:
    async with Client(create_server()) as client:
        result = await client.call_tool("convert_time", {"time": "2026-03-10T09:00", "from_timezone": "UTC"})
    assert result.is_error and "to_timezone" in result.content[0].text


async def test_an_oversized_zone_name_is_refused_without_being_echoed() -> None:
    result = await convert(time="2026-03-10T09:00", to_timezone="Tokyo" * 10_000)
    assert result.is_error and len(result.content[0].text) < 200


async def test_now_is_the_current_time_in_the_target_zone() -> None:
    result = await convert(time="now", from_timezone="UTC", to_timezone="berlin")
    assert result.structured_content["timezone"] == "Europe/Berlin"
    assert result.structured_content["date"] == datetime.now(ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%d")


async def test_an_offset_in_the_time_gives_way_to_the_zone_named_for_it() -> None:
    result = await convert(time="2026-10-20T07:15Z", from_timezone="Europe/Paris", to_timezone="Europe/Paris")
    assert result.structured_content["time"] == "07:15"


async def test_known_functions_and_constants_still_evaluate() -> None:
    async with Client(create_server()) as client:
        result = await client.call_tool("calculate", {"expression": "round(sqrt(2) * pi, 3)"})
    assert result.structured_content["result"] == 4.443


async def test_the_expression_schema_bounds_what_a_grammar_lets_a_model_write() -> None:
    async with Client(create_server()) as client:
        [calculate] = [tool for tool in (await client.list_tools()).tools if tool.name == "calculate"]
        refused = await client.call_tool("calculate", {"expression": "SUM(quantity) * 12"})
    pattern = calculate.input_schema["properties"]["expression"]["pattern"]
    assert re.fullmatch(pattern, "round(3.7 ** 3, 2) + sqrt(16) * pi")
    assert not re.fullmatch(pattern, "SUM(quantity) * 12")
    # The server still evaluates what it is sent, and says in one line what an expression may hold.
    [text] = [block.text for block in refused.content]
    assert refused.is_error and "Unsupported element 'SUM(quantity)'" in text and "\n" not in text
