"""Deadline-bound polling. No fixed sleeps: every loop has a deadline and, on timeout, says what
it saw last. Timeouts scale with BREAKFIX_TIMEOUT_SCALE (or the --timeout-scale option)."""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

from .errors import BadInput, SymptomNotObserved, WaitTimeout

DEFAULT_TIMEOUTS = {
    "symptom": 120.0,   # from the edit to the symptom
    "took_effect": 90.0,  # from the edit to the kubelet running the changed pod
    "recover": 240.0,   # from the fix to the component Ready
    "settle": 300.0,    # the whole control plane Ready
    "schedule": 90.0,   # a probe pod Running
    "scale": 120.0,     # a deployment at its replica count
    "hold": 15.0,       # how long "nothing happens" must hold
    "stable": 5.0,      # how long the control plane must stay Ready to count as settled (and the
                        # next settle checks nothing restarted since: Lab.wait_settled)
    "node_not_ready": 150.0,
}
# Floors, whatever the scale: a "nothing happens" hold (or a stability window) of one poll proves
# nothing, so `hold` and `stable` are never shorter than this, and BREAKFIX_TIMEOUT_HOLD=1 is refused.
MIN_SECONDS = {"hold": 5.0, "stable": 5.0}
ENV_PREFIX = "BREAKFIX_TIMEOUT_"
SCALE_VAR = ENV_PREFIX + "SCALE"   # the factor; so the "scale" wait's own variable is ..._SCALE_WAIT
ENV_VARS = {name: ENV_PREFIX + ("SCALE_WAIT" if name == "scale" else name.upper()) for name in DEFAULT_TIMEOUTS}


def _positive(raw: Any, label: str) -> float:
    """RAW as a positive finite number, else BadInput naming LABEL and the value (one line)."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise BadInput(f"{label}={str(raw)!r}: must be a positive finite number")
    return value


def _env_seconds(name: str) -> float | None:
    var = ENV_VARS[name]
    raw = os.environ.get(var, "")
    if raw == "":
        return None
    value = _positive(raw, var)
    if value < MIN_SECONDS.get(name, 0.0):
        raise BadInput(f"{var}={raw!r}: must be at least {MIN_SECONDS[name]:g} seconds "
                       f"(a shorter {name} window proves nothing)")
    return value


def explicit_timeout(name: str) -> float | None:
    """The seconds BREAKFIX_TIMEOUT_<NAME> sets, or None when it is not set."""
    return _env_seconds(name)


def _env_scale() -> float:
    raw = os.environ.get(SCALE_VAR, "")
    return 1.0 if raw == "" else _positive(raw, SCALE_VAR)


def validate_timeouts(scale: Any = None, label: str = "--timeout-scale") -> float:
    """Check every BREAKFIX_TIMEOUT_* variable and SCALE (an option's raw value, None if not given)
    once, before anything runs; return the scale to use. An unknown variable name is an error too
    (a typo would silently keep the default)."""
    known = [SCALE_VAR, *ENV_VARS.values()]
    for var in sorted(os.environ):
        if var.startswith(ENV_PREFIX) and var not in known:
            raise BadInput(f"unknown variable {var} (known: {', '.join(known)})")
    for name in DEFAULT_TIMEOUTS:
        _env_seconds(name)
    return _env_scale() if scale is None else _positive(scale, label)


def timeout(name: str, scale: float | None = None) -> float:
    """The timeout called NAME: its variable ENV_VARS[NAME] (seconds, BREAKFIX_TIMEOUT_<NAME>)
    wins, else default x scale, and never below MIN_SECONDS[NAME]."""
    env = _env_seconds(name)
    if env is not None:
        return env
    if scale is None:
        scale = _env_scale()
    return max(DEFAULT_TIMEOUTS[name] * scale, MIN_SECONDS.get(name, 0.0))


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
