"""A Ctrl-C (or SIGTERM) held while a change that must not be cut in half completes: a restore, or a
journal entry and the undo registered for it."""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def deferred_interrupts(what: str = "restore") -> Iterator[None]:
    """Let WHAT (a restore) finish: a Ctrl-C (or SIGTERM) during it is held and re-raised after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    handlers = {}

    def hold(signum, _frame):
        got.append(signum)

    for s in (signal.SIGINT, signal.SIGTERM):
        handlers[s] = signal.signal(s, hold)
    try:
        yield
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
        if got:
            raise KeyboardInterrupt(f"interrupted (signal {got[0]}) during {what}; {what} completed")
