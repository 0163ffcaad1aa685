"""Errors the user can act on. The CLI prints their message (one paragraph, no traceback)."""

from __future__ import annotations


class CtsedsError(Exception):
    """An expected failure: bad input, unreachable database, locked warehouse, ...

    The message must say what is wrong and what to do, and must never contain personal
    data (names, emails, phones, addresses): IDs, file names, line and column numbers only.
    """

    exit_code = 1


class UsageError(CtsedsError):
    """A bad command-line value (exit status 2)."""

    exit_code = 2
