"""Deadline-bound polling. No fixed sleeps: every loop has a deadline and, on timeout, says what
it saw last. Timeouts scale with BREAKFIX_TIMEOUT_SCALE (or the --timeout-scale option)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Callable

from .errors import SymptomNotObserved, WaitTimeout

DEFAULT_TIMEOUTS = {
    "symptom": 120.0,   # from the edit to the symptom
    "took_effect": 90.0,  # from the edit to the kubelet running the changed pod
    "recover": 240.0,   # from the fix to the component Ready
    "settle": 300.0,    # the whole control plane Ready
    "schedule": 90.0,   # a probe pod Running
    "scale": 120.0,     # a deployment at its replica count
    "hold": 15.0,       # how long "nothing happens" must hold
    "stable": 10.0,     # how long the control plane must stay Ready to count as settled
    "node_not_ready": 150.0,
}


def timeout(name: str, scale: float | None = None) -> float:
    """The timeout called NAME: BREAKFIX_TIMEOUT_<NAME> (seconds) wins, else default x scale."""
    env = os.environ.get(f"BREAKFIX_TIMEOUT_{name.upper()}")
    if env:
        return float(env)
    if scale is None:
        scale = float(os.environ.get("BREAKFIX_TIMEOUT_SCALE", "1"))
    return DEFAULT_TIMEOUTS[name] * scale


@dataclass
class Observation:
    ok: bool
    seen: Any  # what was observed, printable

    def text(self) -> str:
        return self.seen if isinstance(self.seen, str) else repr(self.seen)


Probe = Callable[[], Observation]


def wait_until(probe: Probe, what: str, deadline_s: float, interval: float = 1.0,
               clock: Callable[[], float] = time.monotonic,
               pause: Callable[[float], None] = time.sleep) -> Observation:
    """Poll PROBE until it reports ok; raise WaitTimeout with the last observation otherwise.
    An exception inside the probe counts as an observation (e.g. API server unreachable)."""
    end = clock() + deadline_s
    last = Observation(False, "nothing observed yet")
    while True:
        try:
            last = probe()
        except Exception as exc:  # noqa: BLE001 - the probe's failure is the observation
            last = Observation(False, f"{type(exc).__name__}: {exc}")
        if last.ok:
            return last
        remaining = end - clock()
        if remaining <= 0:
            raise WaitTimeout(what, deadline_s, _short(last.text()))
        pause(min(interval, remaining))


def hold(probe: Probe, what: str, duration_s: float, interval: float = 1.0,
         clock: Callable[[], float] = time.monotonic,
         pause: Callable[[float], None] = time.sleep) -> Observation:
    """Check that PROBE stays ok for DURATION_S (the "nothing happens" half of a symptom, e.g. a
    pod that stays Pending). Raise SymptomNotObserved the first time it is not."""
    end = clock() + duration_s
    while True:
        last = probe()
        if not last.ok:
            raise SymptomNotObserved(what, f"stopped holding: {_short(last.text())}")
        remaining = end - clock()
        if remaining <= 0:
            return last
        pause(min(interval, remaining))


def wait_stable(probe: Probe, what: str, deadline_s: float, stable_s: float, interval: float = 1.0,
                clock: Callable[[], float] = time.monotonic,
                pause: Callable[[float], None] = time.sleep) -> Observation:
    """Wait until PROBE is ok and stays ok for STABLE_S seconds in a row, within DEADLINE_S.
    (After an API outage the scheduler and controller manager may lose their leases and restart
    a little later: "Ready once" is not "settled".)"""
    end = clock() + deadline_s
    while True:
        obs = wait_until(probe, what, max(end - clock(), 0.0), interval, clock, pause)
        stable_end = clock() + stable_s
        while True:
            try:
                obs = probe()
            except Exception as exc:  # noqa: BLE001
                obs = Observation(False, f"{type(exc).__name__}: {exc}")
            if not obs.ok:
                pause(interval)
                break
            if clock() >= stable_end:
                return obs
            if clock() >= end:
                raise WaitTimeout(f"{what} (stable for {stable_s:.0f}s)", deadline_s, _short(obs.text()))
            pause(interval)
        if clock() >= end:
            raise WaitTimeout(f"{what} (stable for {stable_s:.0f}s)", deadline_s, _short(obs.text()))


def _short(text: str, limit: int = 600) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
