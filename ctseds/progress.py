"""Stage-by-stage progress lines ("[load] ...", "[build] ...", "[export] ...").

Progress is a plain callable taking one line of text. The CLI prints the lines on stderr; the
flow also sends them to the Prefect run logger. Lines carry IDs, counts and paths only.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

Progress = Callable[[str], None]

LOGGER_NAME = "ctseds.progress"
logger = logging.getLogger(LOGGER_NAME)


def stderr(msg: str) -> None:
    """Print one progress line on stderr."""
    print(msg, file=sys.stderr, flush=True)


def to_logger(msg: str) -> None:
    """Send a progress line to the `ctseds.progress` logger (the CLI shows it on stderr)."""
    logger.info(msg)


def attach_stderr_handler() -> None:
    """Show `ctseds.progress` lines on stderr, bare (used by the CLI)."""
    if any(getattr(h, "_ctseds", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._ctseds = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def staged(stage: str, say: Progress) -> Progress:
    """Prefix lines that have no "[stage]" prefix yet (e.g. the loader's per-file lines)."""

    def _say(msg: str) -> None:
        say(msg if msg.startswith("[") else f"[{stage}] {msg}")

    return _say


def noop(msg: str) -> None:
    return None
