import pytest

from breakfix.errors import SymptomNotObserved, WaitTimeout
from breakfix.waits import Observation, hold, timeout, wait_until


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def now(self):
        return self.t

    def sleep(self, s):
        self.t += s


def test_wait_until_returns_first_ok():
    c = FakeClock()
    seq = iter([Observation(False, "a"), Observation(False, "b"), Observation(True, "done")])
    obs = wait_until(lambda: next(seq), "x", 10, interval=1, clock=c.now, pause=c.sleep)
    assert obs.seen == "done" and c.t == 2


def test_wait_until_timeout_reports_last_seen():
    c = FakeClock()
    n = {"i": 0}

    def probe():
        n["i"] += 1
        return Observation(False, f"phase=Pending try {n['i']}")

    with pytest.raises(WaitTimeout) as e:
        wait_until(probe, "pod Running", 5, interval=1, clock=c.now, pause=c.sleep)
    assert "pod Running" in str(e.value) and "phase=Pending try 6" in str(e.value)


def test_probe_exception_is_an_observation():
    c = FakeClock()

    def probe():
        raise ConnectionError("connection refused")

    with pytest.raises(WaitTimeout, match="ConnectionError: connection refused"):
        wait_until(probe, "api", 2, clock=c.now, pause=c.sleep)


def test_hold_passes_when_it_holds_and_fails_when_it_breaks():
    c = FakeClock()
    assert hold(lambda: Observation(True, "pending"), "stays", 5, clock=c.now, pause=c.sleep).seen == "pending"
    seq = iter([Observation(True, "p"), Observation(False, "scheduled on node1")])
    with pytest.raises(SymptomNotObserved, match="scheduled on node1"):
        hold(lambda: next(seq), "stays", 5, clock=c.now, pause=c.sleep)


def test_timeouts_overridable(monkeypatch):
    monkeypatch.setenv("BREAKFIX_TIMEOUT_SCALE", "2")
    assert timeout("symptom") == 240
    monkeypatch.setenv("BREAKFIX_TIMEOUT_SYMPTOM", "7")
    assert timeout("symptom") == 7


def test_wait_stable_restarts_the_window_when_it_flaps():
    from breakfix.waits import wait_stable
    c = FakeClock()
    seq = iter([True, True, False, True, True, True, True, True] + [True] * 20)
    obs = wait_stable(lambda: Observation(next(seq), "x"), "settled", 60, stable_s=3, clock=c.now, pause=c.sleep)
    assert obs.ok and c.t == 5  # ok at 0, flaps at 2, then ok for 3 s in a row


def test_wait_stable_times_out_when_never_stable():
    from breakfix.waits import wait_stable
    c = FakeClock()
    flip = {"v": False}

    def probe():
        flip["v"] = not flip["v"]
        return Observation(flip["v"], "flapping")

    with pytest.raises(WaitTimeout, match="stable for 5s"):
        wait_stable(probe, "settled", 20, stable_s=5, clock=c.now, pause=c.sleep)
