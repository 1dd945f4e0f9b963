"""What every benchmark here needs: percentiles, and a process pinned to one CPU."""

from __future__ import annotations

import contextlib
import os


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def pin(cpu: int) -> None:
    """Run this process on one CPU (of those it may use), where the OS allows it."""
    with contextlib.suppress(AttributeError, OSError):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[cpu % len(cpus)]})
