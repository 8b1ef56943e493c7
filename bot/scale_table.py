"""What the scale benchmarks (:mod:`bot.scale`, :mod:`bot.scale_search`) measure with and
report in: a result row, latencies, resident memory, stages said and timed, and the table."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One line of the result table."""

    size: int
    what: str
    build_s: float | None  # None: nothing built of its own
    memory_mb: float | None
    recall_at_10: float | None
    p50_ms: float
    p95_ms: float
    note: str = ""


def rss_mb() -> float:
    """Resident memory of this process now (not the peak), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def stage(message: str) -> Iterator[None]:
    """Say what is running and, after, how long it took (long stages take minutes)."""
    print(f"{message} …", file=sys.stderr, flush=True)
    started = time.perf_counter()
    yield
    print(f"  done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


class Stopwatch:
    """Adds up the time of the stages run through it (and says what each is, as ``stage``)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def stage(self, message: str) -> Iterator[None]:
        """Time one stage and add it to the total."""
        started = time.perf_counter()
        with stage(message):
            yield
        self.seconds += time.perf_counter() - started


def latencies(run: Callable[[int], object], count: int) -> tuple[float, float]:
    """p50 and p95 milliseconds of ``run(i)`` for i in range(count), after one warm-up."""
    run(0)
    times = []
    for i in range(count):
        started = time.perf_counter()
        run(i)
        times.append((time.perf_counter() - started) * 1000)
    ordered = sorted(times)
    return round(statistics.median(ordered), 3), round(ordered[int(0.95 * (count - 1))], 3)


def describe(spec: dict[str, Any]) -> str:
    """An index spec as the table's note: ``flat``, or the graph's parameters and recall."""
    if spec["type"] == "flat":
        if spec.get("searched", True):
            return "flat"
        return (
            f"flat, not searched (candidates: the spans of {spec['passages']} passages the "
            f"passages' search puts forward; probe recall {spec['recall_at_10']})"
        )
    # "sq8": bot.vectors.HNSW_CODES (this module stays free of faiss)
    codes = " over 8-bit codes, re-scored exactly," if spec.get("codes") == "sq8" else ""
    return (
        f"HNSW M {spec['M']}, efConstruction {spec['ef_construction']},{codes} "
        f"efSearch {spec['ef_search']} (probe recall {spec['recall_at_10']})"
    )


def markdown(rows: list[Row]) -> str:
    """The rows as the Markdown table docs/performance.md keeps."""
    lines = [
        "| passages | what | build s | memory MB | recall@10 | p50 ms | p95 ms | index |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        recall = "" if r.recall_at_10 is None else f"{r.recall_at_10:.3f}"
        built = "" if r.build_s is None else r.build_s
        memory = "" if r.memory_mb is None else f"{r.memory_mb:g}"
        lines.append(
            f"| {r.size:,} | {r.what} | {built} | {memory} | {recall} | "
            f"{r.p50_ms} | {r.p95_ms} | {r.note} |"
        )
    return "\n".join(lines)


def as_dicts(rows: list[Row]) -> list[dict[str, Any]]:
    """The rows as plain dictionaries (for ``--json``)."""
    return [vars(r) for r in rows]
