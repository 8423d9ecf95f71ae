"""Chain timestamps as people read them: local time, and how far away (`in 5 min`, `8 s ago`)."""

from __future__ import annotations

from datetime import datetime


def local_time(timestamp: int) -> str:
    """A block time in this machine's time zone, zone named."""
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def relative(timestamp: int, now: int) -> str:
    """`timestamp` against `now` (the chain's clock): `in 5 min`, `8 s ago`, `in 2.5 h`."""
    delta = timestamp - now
    span = abs(delta)
    if span < 120:
        text = f"{span} s"
    elif span < 7_200:
        text = f"{span // 60} min"
    elif span < 172_800:
        text = f"{span / 3_600:.1f} h"
    else:
        text = f"{span / 86_400:.1f} days"
    return f"in {text}" if delta > 0 else f"{text} ago"


def deadline(timestamp: int, now: int) -> str:
    """`2026-12-02 14:03:00 CET (in 12 min)`."""
    return f"{local_time(timestamp)} ({relative(timestamp, now)})"
