"""Anonymous statistics: count each orientation, store feedback, export the counts (CSV or JSON).

`record_turn` is called by the conversation store inside the transaction of the turn: a turn whose
replies carry `custom.orientation` adds 1 to the week's counters (orientation, need, proposed
schemes, commune) — nothing else about the conversation is kept here. A replayed turn rolls back
with its transaction, so an orientation is counted once.

`export_rows` reads the counters back with the privacy threshold: a commune counted fewer than
`COMMUNE_THRESHOLD` times in an output cell (week × channel, or the totals) is shown as its
département only.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy import Engine as DbEngine
from sqlalchemy.dialects import postgresql, sqlite

from bot.channels.stats_models import COMMENT_MAX_CHARS, Feedback, UsageCount
from bot.dialogue.api import Reply

COUNTS = UsageCount.__table__
FEEDBACK = Feedback.__table__
COMMUNE_THRESHOLD = 10
PROPOSED = {"eligible", "to_check"}
KEY_CHARS = 64
CSV_FIELDS = ("week", "week_start", "channel", "dimension", "key", "count")

#: French phone numbers (any separators), other long digit runs, and emails: removed from comments
_PHONE = re.compile(r"(?:\+|00)?\d(?:[\s.\-/()]*\d){7,}")
_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")


# ---------------------------------------------------------------------------------------- dates
def week_start(day: dt.date) -> dt.date:
    """Monday of the ISO week of `day`."""
    return day - dt.timedelta(days=day.weekday())


def iso_week(monday: dt.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def departement_of(code_insee: str) -> str:
    """Département of an INSEE commune code: "62" for 62427, "2A" for 2A004, "971" for 97101."""
    return code_insee[:3] if code_insee.startswith("97") else code_insee[:2]


# ---------------------------------------------------------------------------------------- recording
def orientation_keys(slots: dict[str, Any], replies: Sequence[Reply]) -> dict[str, list[str]] | None:
    """The counters one turn adds to, or None when no reply of the turn is an orientation."""
    oriented = [r for r in replies if (r.custom or {}).get("orientation")]
    if not oriented:
        return None
    listed = next((r.custom["schemes"] for r in oriented if isinstance(r.custom.get("schemes"), list)), None)
    results = listed if listed is not None else (slots.get("last_results") or [])
    schemes = [
        str(r.get("id") or r.get("scheme_id") or r.get("scheme"))
        for r in results
        if isinstance(r, dict) and r.get("status") in PROPOSED
    ]
    keys: dict[str, list[str]] = {"orientation": ["total"], "scheme": list(dict.fromkeys(schemes))}
    if slots.get("need"):
        keys["need"] = [str(slots["need"])]
    if slots.get("commune"):
        keys["commune"] = [str(slots["commune"])]
    return keys


def record_turn(
    conn: Connection, channel: str, state: dict[str, Any], replies: Sequence[Reply], now: dt.datetime
) -> bool:
    """Count the orientation given in this turn, if any (same transaction as the turn). True if counted."""
    keys = orientation_keys((state or {}).get("slots") or {}, replies)
    if keys is None:
        return False
    monday = week_start(now.date())
    for dimension, values in keys.items():
        for key in values:
            increment(conn, monday, channel[:32], dimension, key[:KEY_CHARS])
    return True


def increment(conn: Connection, monday: dt.date, channel: str, dimension: str, key: str, by: int = 1) -> None:
    """Add `by` to one counter cell (an atomic upsert on PostgreSQL and SQLite)."""
    values = {"week": monday, "channel": channel, "dimension": dimension, "key": key, "count": by}
    dialect = conn.dialect.name
    if dialect in {"postgresql", "sqlite"}:
        module = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(COUNTS).values(**values)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["week", "channel", "dimension", "key"],
                set_={"count": COUNTS.c.count + statement.excluded.count},
            )
        )
        return
    cell = (
        (COUNTS.c.week == monday)
        & (COUNTS.c.channel == channel)
        & (COUNTS.c.dimension == dimension)
        & (COUNTS.c.key == key)
    )
    if conn.execute(update(COUNTS).where(cell).values(count=COUNTS.c.count + by)).rowcount == 0:
        conn.execute(insert(COUNTS).values(**values))


# ---------------------------------------------------------------------------------------- feedback
def scrub(comment: str | None) -> str | None:
    """The comment without phone numbers, emails or control characters, at most 300 characters."""
    if comment is None:
        return None
    text = "".join(ch if ch.isprintable() else " " for ch in comment)
    text = _EMAIL.sub("[courriel retiré]", text)
    text = _PHONE.sub("[numéro retiré]", text)
    text = re.sub(r"\s+", " ", text).strip()[:COMMENT_MAX_CHARS]
    return text or None


def proposed_from_state(state: dict[str, Any] | None) -> tuple[str | None, list[str]]:
    """(need, proposed scheme ids) of a conversation state — what a feedback row may keep of it."""
    slots = (state or {}).get("slots") or {}
    results = slots.get("last_results") or []
    schemes = [
        str(r.get("scheme_id") or r.get("scheme"))
        for r in results
        if isinstance(r, dict) and r.get("status") in PROPOSED
    ]
    need = slots.get("need")
    return (str(need)[:KEY_CHARS] if need else None), list(dict.fromkeys(s[:KEY_CHARS] for s in schemes))


def store_feedback(
    db: DbEngine,
    *,
    channel: str,
    helpful: bool | None,
    comment: str | None,
    need: str | None,
    schemes: Iterable[str],
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Insert one feedback row (no conversation id) and return what was stored."""
    row = {
        "day": today or dt.datetime.now(dt.UTC).date(),
        "channel": channel[:32],
        "helpful": helpful,
        "need": need,
        "schemes": list(schemes)[:20],
        "comment": scrub(comment),
    }
    with db.begin() as conn:
        conn.execute(insert(FEEDBACK).values(**row))
    return {**row, "day": row["day"].isoformat()}


# ---------------------------------------------------------------------------------------- export
def _feedback_key(helpful: bool | None) -> str:
    return {True: "oui", False: "non"}.get(helpful, "commentaire_seul")  # type: ignore[arg-type]


def _raw_cells(db: DbEngine, since: dt.date | None) -> dict[tuple[dt.date, str, str, str], int]:
    """Counter cells and feedback counts per (week, channel, dimension, key), before the threshold."""
    cells: dict[tuple[dt.date, str, str, str], int] = defaultdict(int)
    start = week_start(since) if since else None
    with db.connect() as conn:
        query = select(COUNTS.c.week, COUNTS.c.channel, COUNTS.c.dimension, COUNTS.c.key, COUNTS.c.count)
        if start:
            query = query.where(COUNTS.c.week >= start)
        for week, channel, dimension, key, count in conn.execute(query):
            cells[(week, channel, dimension, key)] += int(count)
        feedback = select(FEEDBACK.c.day, FEEDBACK.c.channel, FEEDBACK.c.helpful, FEEDBACK.c.comment)
        if start:
            feedback = feedback.where(FEEDBACK.c.day >= start)
        for day, channel, helpful, comment in conn.execute(feedback):
            monday = week_start(day)
            cells[(monday, channel, "feedback", _feedback_key(helpful))] += 1
            if comment:
                cells[(monday, channel, "feedback", "avec_commentaire")] += 1
    return cells


def _threshold(cells: dict[tuple[Any, ...], int]) -> dict[tuple[Any, ...], int]:
    """Communes below the threshold become their département (key = département code)."""
    out: dict[tuple[Any, ...], int] = defaultdict(int)
    for cell, count in cells.items():
        *head, dimension, key = cell
        if dimension == "commune" and count < COMMUNE_THRESHOLD:
            out[(*head, "departement", departement_of(key))] += count
        else:
            out[cell] += count
    return out


DIMENSIONS = ("orientation", "need", "scheme", "commune", "departement", "feedback")


def _order(cell: tuple[Any, ...]) -> tuple[Any, ...]:
    *head, dimension, key = cell
    return (*head, DIMENSIONS.index(dimension) if dimension in DIMENSIONS else 99, key)


def export_rows(db: DbEngine, since: dt.date | None = None) -> list[dict[str, Any]]:
    """One row per (week, channel, dimension, key) with its count, threshold applied."""
    rows = []
    for cell, count in sorted(_threshold(_raw_cells(db, since)).items(), key=lambda kv: _order(kv[0])):
        monday, channel, dimension, key = cell
        rows.append(
            {
                "week": iso_week(monday),
                "week_start": monday.isoformat(),
                "channel": channel,
                "dimension": dimension,
                "key": key,
                "count": count,
            }
        )
    return rows


def totals(db: DbEngine, since: dt.date | None = None) -> dict[str, dict[str, int]]:
    """Counts over the whole period by dimension and key (the threshold applied to these totals)."""
    summed: dict[tuple[str, str], int] = defaultdict(int)
    for (_week, _channel, dimension, key), count in _raw_cells(db, since).items():
        summed[(dimension, key)] += count
    out: dict[str, dict[str, int]] = {}
    for (dimension, key), count in sorted(_threshold(summed).items(), key=lambda kv: _order(kv[0])):
        out.setdefault(dimension, {})[key] = count
    return out


def export_json(db: DbEngine, since: dt.date | None = None) -> dict[str, Any]:
    return {
        "since": since.isoformat() if since else None,
        "commune_threshold": COMMUNE_THRESHOLD,
        "totals": totals(db, since),
        "rows": export_rows(db, since),
    }


def export_csv(db: DbEngine, since: dt.date | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(export_rows(db, since))
    return buffer.getvalue()


def feedback_count(db: DbEngine) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(FEEDBACK)).scalar_one())


def cmd_stats(args: Any) -> int:
    """`aiguillage stats [--format csv|json] [--since YYYY-MM-DD]` on the configured database."""
    import json
    import sys

    from knowledge.db import make_engine, upgrade

    try:
        since = dt.date.fromisoformat(args.since) if args.since else None
    except ValueError:
        print(f"date invalide : {args.since} (attendu AAAA-MM-JJ)", file=sys.stderr)
        return 2
    db = make_engine()
    upgrade(db)
    if args.format == "json":
        print(json.dumps(export_json(db, since), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(export_csv(db, since))
    return 0
