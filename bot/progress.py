"""What a long job (a build) shows on stderr while it runs: a line per step, and bars over
texts. Quiet unless asked, so tests and library callers see nothing."""

from __future__ import annotations

import sys
from typing import Any


def say(progress: bool, message: str) -> None:
    """Say which step a job is on: a big knowledge base builds for hours, and between its
    progress bars some steps run for minutes."""
    if progress:
        print(message, file=sys.stderr, flush=True)


class _NoBar:
    """What :func:`bar` gives when no progress is shown."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, done: int) -> None:
        """Nothing to show."""


def bar(total: int, progress: bool, desc: str, unit: str = "text") -> Any:
    """A context manager: a progress bar over ``total`` texts (or other ``unit``) on stderr
    (``update(n)`` as they are done), or one that shows nothing."""
    if not progress:
        return _NoBar()
    from tqdm import tqdm  # only builds show bars: serving never imports it

    return tqdm(total=total, unit=unit, desc=desc)
