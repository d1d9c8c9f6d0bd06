"""Points in time and durations, for people (tables) and for programs
(JSON, YAML, CSV)."""

from __future__ import annotations

from datetime import datetime, timedelta


def iso_time(moment: datetime) -> str:
    """ISO 8601 with the offset the server gave, as programs parse it."""
    return moment.isoformat()


def local_time(moment: datetime) -> str:
    """The moment in this machine's time zone, to the second."""
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def seconds(duration: timedelta) -> float | int:
    total = duration.total_seconds()
    return int(total) if total == int(total) else round(total, 3)


def human_duration(duration: timedelta) -> str:
    """`0.5s`, `42s`, `3m 05s`, `2h 05m`, `4d 03h`: the two largest units."""
    total = duration.total_seconds()
    if total < 10:
        return f"{total:.1f}s".replace(".0s", "s")
    whole = int(total)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
