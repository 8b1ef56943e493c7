"""A load test: N concurrent clients asking questions for T seconds against a running server.

Each client sends the next question as soon as its last reply arrives. Questions are the
in-scope, out-of-scope and small-talk cases of the eval sets, so the mix is realistic.
429s (rate limited) are counted apart from errors: an error is a transport failure or any
status other than 200 and 429.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.api.schemas import CHAT_PATH


@dataclass
class LoadReport:
    """What the clients saw."""

    clients: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)  # of 200 replies
    statuses: Counter[str] = field(default_factory=Counter)  # "200", "429", "error: …"

    def summary(self) -> dict[str, Any]:
        """Plain numbers: counts, requests a second, latency percentiles."""
        times = sorted(self.latencies_ms)
        total = sum(self.statuses.values())
        limited = self.statuses.get("429", 0)
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 1),
            "requests": total,
            "requests_per_second": round(total / self.seconds, 1) if self.seconds else 0.0,
            "ok": self.statuses.get("200", 0),
            "rate_limited": limited,
            "errors": total - self.statuses.get("200", 0) - limited,
            "latency_ms_p50": _pick(times, 0.50),
            "latency_ms_p95": _pick(times, 0.95),
            "latency_ms_p99": _pick(times, 0.99),
            "statuses": dict(self.statuses),
        }


def _pick(times: list[float], share: float) -> float:
    if not times:
        return 0.0
    if share == 0.5:
        return round(statistics.median(times), 1)
    return round(times[min(len(times) - 1, int(share * len(times)))], 1)


async def _client(
    base_url: str, questions: list[str], offset: int, until: float, report: LoadReport
) -> None:
    cycle = itertools.islice(itertools.cycle(questions), offset, None)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for question in cycle:
            if time.perf_counter() >= until:
                return
            started = time.perf_counter()
            try:
                response = await client.post(CHAT_PATH, json={"message": question})
                status = str(response.status_code)
            except httpx.HTTPError as exc:
                status = f"error: {type(exc).__name__}"
            if status == "200":
                report.latencies_ms.append((time.perf_counter() - started) * 1000)
            report.statuses[status] += 1


async def _run(base_url: str, questions: list[str], clients: int, seconds: float) -> LoadReport:
    report = LoadReport(clients, seconds)
    started = time.perf_counter()
    until = started + seconds
    spread = max(1, len(questions) // max(1, clients))
    await asyncio.gather(
        *(_client(base_url, questions, i * spread, until, report) for i in range(clients))
    )
    report.seconds = time.perf_counter() - started
    return report


def run_load(base_url: str, questions: list[str], clients: int, seconds: float) -> LoadReport:
    """Drive the server at ``base_url`` with ``clients`` concurrent clients for ``seconds``."""
    if not questions:
        raise ValueError("no questions to ask")
    return asyncio.run(_run(base_url.rstrip("/"), questions, clients, seconds))
