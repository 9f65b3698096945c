"""Time zones as people name them: IANA names in any case, cities, countries with one zone,
everyday abbreviations. Small models write all of these ("Tokyo", "India", "PST") where a tool
asks for an IANA name, and a refusal then became their answer.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import TZPATH, ZoneInfo, available_timezones

__all__ = ["MAX_TEXT_CHARS", "resolve_zone"]

MAX_TEXT_CHARS = 64
"""The longest zone name or date-and-time text read; the longest IANA name is 32 characters."""

# Abbreviations people write for zones; each names the zone it means in everyday use (so "EST" in
# July is New York time, not tzdata's fixed-offset legacy "EST").
_ABBREVIATIONS = {
    abbreviation: zone
    for zone, abbreviations in {
        "UTC": "utc gmt z zulu",
        "America/New_York": "et est edt eastern",
        "America/Chicago": "ct cst cdt central",
        "America/Denver": "mt mst mdt mountain",
        "America/Los_Angeles": "pt pst pdt pacific",
        "Europe/London": "bst",
        "Europe/Paris": "cet cest",
        "Europe/Athens": "eet eest",
        "Asia/Kolkata": "ist",
        "Asia/Tokyo": "jst",
        "Asia/Seoul": "kst",
        "Asia/Hong_Kong": "hkt",
        "Asia/Singapore": "sgt",
        "Australia/Sydney": "aest aedt",
        "Pacific/Auckland": "nzst nzdt",
    }.items()
    for abbreviation in abbreviations.split()
}
_IANA_LIKE = re.compile(r"[a-z_]+(?:/[a-z_]+)+")
_ZONE_WORDS = re.compile(r"\s+(?:standard\s+|daylight\s+)?(?:time(?:\s*zone)?|timezone|tz)$", re.IGNORECASE)


def _key(text: str) -> str:
    """``text`` folded for matching: no accents, no case, spaces and hyphens as underscores."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[\s\-]+", "_", plain.strip().casefold())


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every zone by its folded full name and, for region zones, by its city ("tokyo",
    "sao_paulo"); where cities repeat, the zone with the shortest name wins."""
    names: dict[str, str] = {}
    for zone in sorted(available_timezones(), key=lambda zone: (zone.count("/"), zone)):
        names.setdefault(_key(zone), zone)
        if "/" in zone and not zone.startswith("Etc/"):
            names.setdefault(_key(zone.rsplit("/", 1)[1]), zone)
    return names


def _tab_lines(name: str) -> Iterator[list[str]]:
    """The rows of tzdata's ``name`` table (the system's, else the ``tzdata`` package's)."""
    for folder in TZPATH:
        if (path := Path(folder) / name).is_file():
            text = path.read_text(encoding="utf-8")
            break
    else:
        try:
            text = resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")
        except (ModuleNotFoundError, FileNotFoundError):
            return
    for line in text.splitlines():
        if line and not line.startswith("#"):
            yield line.split("\t")


@functools.cache
def _countries() -> dict[str, tuple[str, list[str]]]:
    """Each country by its folded names ("india"; "korea_south" and "south_korea"; "uk" for
    "Britain (UK)"): its name and its zones."""
    zones: dict[str, list[str]] = {}
    for row in _tab_lines("zone.tab"):  # per country, its main zone first (zone1970.tab merges countries)
        zones.setdefault(row[0], []).append(row[2])
    countries: dict[str, tuple[str, list[str]]] = {}
    for code, name in (row[:2] for row in _tab_lines("iso3166.tab")):
        if code not in zones:
            continue
        base, _, aside = name.partition(" (")
        aside = aside.rstrip(")")
        for spelling in {name, base, aside, f"{aside} {base}", code}:
            if spelling:
                countries.setdefault(_key(spelling), (name, zones[code]))
    return countries


def _offset_now(zone: str) -> timedelta | None:
    return datetime.now(ZoneInfo(zone)).utcoffset()


def resolve_zone(name: str) -> ZoneInfo:
    """The zone ``name`` means: an IANA name in any case, a city of one ("Tokyo", "São Paulo",
    "New York time"), a country whose clocks all show one time ("India"), a common abbreviation ("PST",
    "CET"), or a text holding an IANA name ("India (Asia/Kolkata)").

    Raises:
        ValueError: No zone, or a country of several: the one-line message says what to write.
    """
    if len(name) > MAX_TEXT_CHARS:
        raise ValueError(
            f"A time zone name of {len(name)} characters is not one; use an IANA name like 'Europe/Paris'."
        )
    key = _key(_ZONE_WORDS.sub("", name.strip()))
    names = _zone_names()
    found = _ABBREVIATIONS.get(key) or names.get(key)
    found = found or next((names[part] for part in _IANA_LIKE.findall(key) if part in names), None)
    if found is None and (country := _countries().get(key)):
        country_name, zones = country
        if len({_offset_now(zone) for zone in zones}) > 1:
            examples = ", ".join(repr(zone) for zone in zones[:3])
            raise ValueError(
                f"{country_name} has {len(zones)} time zones; name a city or one of them, e.g. {examples}."
            )
        found = zones[0]
    if found is None:
        raise ValueError(
            f"Unknown time zone {name!r}. Use an IANA name such as 'UTC', 'Europe/Paris' or 'America/New_York', "
            "or a city that has one (e.g. 'Tokyo')."
        )
    return ZoneInfo(found)
