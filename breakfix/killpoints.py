"""Test-only crash injection. BREAKFIX_KILL_AT=<point> makes this process SIGKILL itself the
first time the engine reaches that point of a fault, to prove that the journal replay (the next
run's start, or `breakfix restore`) leaves every node file as it was (tests/e2e/test_kill9.py,
`make stress`). Unset, a kill point costs one dictionary lookup."""
from __future__ import annotations

import os
import signal

from .errors import BreakfixError

POINTS = {
    "after-backup": "the file is backed up, no journal entry yet",
    "after-journal": "backup and journal written, the file not changed yet",
    "during-write": "the new file is staged beside the target (dot-file), not renamed yet",
    "during-observe": "the fault is in place; symptoms are being observed",
    "during-restore": "the file is back (or the unit started), the journal not removed yet",
    "during-unit-restart": "a node file is back, the unit not restarted yet",
}
ENV = "BREAKFIX_KILL_AT"


class KillPointError(BreakfixError):
    pass


def validate() -> None:
    want = os.environ.get(ENV)
    if want and want not in POINTS:
        raise KillPointError(f"{ENV}={want!r} is not a kill point (known: {', '.join(POINTS)})")


def killpoint(name: str) -> None:
    assert name in POINTS, name
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
