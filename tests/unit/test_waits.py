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


def test_hold_and_stable_have_a_floor_whatever_the_scale(monkeypatch):
    from breakfix.waits import MIN_SECONDS
    monkeypatch.delenv("BREAKFIX_TIMEOUT_SCALE", raising=False)
    assert MIN_SECONDS == {"hold": 5.0, "stable": 5.0}
    assert timeout("hold", 0.001) == 5.0 and timeout("stable", 0.001) == 5.0
    assert timeout("symptom", 0.01) == 1.2          # other waits scale freely
    assert timeout("hold", 2) == 30.0               # above the floor: scaled as usual
    monkeypatch.setenv("BREAKFIX_TIMEOUT_SCALE", "0.01")
    assert timeout("hold") == 5.0


def test_the_scale_factor_is_not_the_scale_wait(monkeypatch):
    # BREAKFIX_TIMEOUT_SCALE is the factor; the "scale" wait's own variable is ..._SCALE_WAIT
    monkeypatch.setenv("BREAKFIX_TIMEOUT_SCALE", "2")
    assert timeout("scale") == 240
    monkeypatch.setenv("BREAKFIX_TIMEOUT_SCALE_WAIT", "33")
    assert timeout("scale") == 33


@pytest.mark.parametrize("env,scale,message", [
    ({"BREAKFIX_TIMEOUT_SCALE": "abc"}, None, "BREAKFIX_TIMEOUT_SCALE='abc': must be a positive finite number"),
    ({"BREAKFIX_TIMEOUT_SCALE": "0"}, None, "BREAKFIX_TIMEOUT_SCALE='0': must be a positive"),
    ({"BREAKFIX_TIMEOUT_SYMPTOM": "abc"}, None, "BREAKFIX_TIMEOUT_SYMPTOM='abc'"),
    ({"BREAKFIX_TIMEOUT_SYMPTOM": "-3"}, None, "BREAKFIX_TIMEOUT_SYMPTOM='-3'"),
    ({"BREAKFIX_TIMEOUT_SETTLE": "inf"}, None, "BREAKFIX_TIMEOUT_SETTLE='inf'"),
    ({"BREAKFIX_TIMEOUT_HOLD": "1"}, None, "BREAKFIX_TIMEOUT_HOLD='1': must be at least 5 seconds"),
    ({"BREAKFIX_TIMEOUT_NOPE": "5"}, None, "unknown variable BREAKFIX_TIMEOUT_NOPE (known: BREAKFIX_TIMEOUT_SCALE, "),
    ({}, "0", "--timeout-scale='0'"),
    ({}, "-1", "--timeout-scale='-1'"),
    ({}, "nan", "--timeout-scale='nan'"),
    ({}, "inf", "--timeout-scale='inf'"),
    ({}, 0.0, "--timeout-scale='0.0'"),
])
def test_validate_timeouts_refuses_with_one_line(monkeypatch, env, scale, message):
    from breakfix.errors import BadInput
    from breakfix.waits import validate_timeouts
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(BadInput) as e:
        validate_timeouts(scale)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_validate_timeouts_returns_the_scale(monkeypatch):
    from breakfix.waits import validate_timeouts
    monkeypatch.delenv("BREAKFIX_TIMEOUT_SCALE", raising=False)
    assert validate_timeouts(None) == 1.0
    assert validate_timeouts("2.5") == 2.5
    monkeypatch.setenv("BREAKFIX_TIMEOUT_SCALE", "3")
    monkeypatch.setenv("BREAKFIX_TIMEOUT_HOLD", "5")
    assert validate_timeouts(None) == 3.0


def test_a_pod_timeline_counts_each_true_condition_from_the_pods_creation():
    from datetime import datetime, timedelta, timezone
    from types import SimpleNamespace as NS

    from breakfix.probes import pod_timeline
    t0 = datetime(2026, 12, 7, 23, 0, 0, tzinfo=timezone.utc)

    def cond(kind, after, status="True"):
        return NS(type=kind, status=status, last_transition_time=t0 + timedelta(seconds=after))
    pod = NS(metadata=NS(name="p", creation_timestamp=t0),
             status=NS(conditions=[cond("Ready", 12), cond("PodScheduled", 9), cond("Initialized", 10),
                                   cond("DisruptionTarget", 3, "False")]))
    assert pod_timeline(pod) == "pod p created 23:00:00: PodScheduled +9 s, Initialized +10 s, Ready +12 s"
    assert pod_timeline(NS(metadata=NS(name="q", creation_timestamp=t0), status=NS(conditions=None))) == \
        "pod q created 23:00:00: no condition true"
