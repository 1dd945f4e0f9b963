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
    """Run this process on the machine's CPU ``cpu`` (modulo their count), where the OS
    allows it. Counted among the machine's CPUs, not among those this process may use now:
    a child inherits its parent's pinning, and a parent pinned to CPU 1 made every
    ``pin(0)`` child land on CPU 1 too."""
    with contextlib.suppress(AttributeError, OSError):
        count = os.cpu_count() or 1
        try:
            os.sched_setaffinity(0, {cpu % count})
        except OSError:  # that CPU is not ours (a cpuset): one of those we may use
            cpus = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(0, {cpus[cpu % len(cpus)]})
