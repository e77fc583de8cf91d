"""The expiry of a token made with a date, as people give it: YYYY-MM-DD."""

from __future__ import annotations

from datetime import UTC, date, datetime


def expiry_of_date(text: str, today: date | None = None) -> str:
    """The timestamp at which a token whose last day is `text` lapses: the
    end of that day, UTC. ValueError with a message for a malformed date
    or one already past."""
    try:
        last_day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date like 2030-12-31") from None
    today = today or datetime.now(UTC).date()
    if last_day < today:
        raise ValueError(f"{last_day.isoformat()} is already past")
    return f"{last_day.isoformat()}T23:59:59Z"
