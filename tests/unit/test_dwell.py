"""Dwell that proves something and no more (issue 9): the calibrated hold, the settle that is
skipped only when nothing changed, and the fix's stability window overlapped with verify. The
cluster is replaced by a scripted sequence of observations; the real behaviour runs in make test."""
import pytest

from breakfix.lab import HOLD_FACTOR, Lab
from breakfix.report import Reporter
from breakfix.waits import MIN_SECONDS, Observation


class ScriptedLab(Lab):
    """control_plane_ready() replays FPS: each item a fingerprint (Ready) or None (not Ready)."""

    def __init__(self, fps, dwell=True):
        super().__init__(kube=None, node=None, node_name="n", reporter=Reporter(), poll=0.01, dwell=dwell)
        self.fps, self.calls = list(fps), 0

    def control_plane_ready(self):
        fp = self.fps[min(self.calls, len(self.fps) - 1)]
        self.calls += 1
        self._fingerprint = fp
        return Observation(fp is not None, f"fp={fp}")


@pytest.fixture(autouse=True)
def fake_time(monkeypatch):
    """A clock that moves only when a wait pauses (and by 0.1 s per look at it)."""
    monkeypatch.setenv("BREAKFIX_TIMEOUT_STABLE", "5")
    monkeypatch.setenv("BREAKFIX_TIMEOUT_SETTLE", "30")
    now = {"t": 0.0}

    def clock():
        now["t"] += 0.1
        return now["t"]

    def pause(s):
        now["t"] += s

    from breakfix import waits
    for fn in (waits.wait_until, waits.hold, waits.wait_stable):
        d = list(fn.__defaults__)
        d[-2], d[-1] = clock, pause
        monkeypatch.setattr(fn, "__defaults__", tuple(d))
    monkeypatch.setattr("breakfix.lab_settle.time.monotonic", clock)


def test_hold_is_calibrated_within_floor_and_ceiling():
    lab = ScriptedLab([("a",)])
    assert lab.hold_for({}) == lab.t("hold")                    # not calibrated: the hold timeout
    lab.calibration = {"hold_seconds": 7.5}
    assert lab.hold_for({}) == 7.5 and lab.hold_for({}, half=True) == MIN_SECONDS["hold"]
    assert lab.hold_for({"hold": 20}) == 20                      # a fault file's own hold wins
    assert ScriptedLab([("a",)], dwell=False).hold_for({"hold": 20}) == 0.0   # the floor: one look
    assert HOLD_FACTOR >= 5


def test_settle_is_skipped_only_when_nothing_changed():
    lab = ScriptedLab([("a",)])
    lab.wait_settled("first")                 # a full window
    first = lab.calls
    assert first > 2
    lab.wait_settled("again", reuse=True)     # before a fault, unchanged: one look
    assert lab.calls == first + 1
    lab.calls = 0
    lab.wait_settled("after a fix")           # after a fix the view may be stale: a full window
    assert lab.calls > 2
    lab.fps = [("b",)]                        # a pod restarted meanwhile: a full window again
    lab.calls = 0
    lab.wait_settled("changed", reuse=True)
    assert lab.calls > 2


def test_fix_window_overlaps_verify_and_falls_back_when_something_changed():
    lab = ScriptedLab([("a",)])
    lab.wait_settled("after the fix", window=False)
    assert lab._unconfirmed and lab._settled is None
    lab.confirm_stable()
    assert lab._settled[0] == ("a",) and lab._unconfirmed is None
    # came back as "a", then something restarted ("b"): not confirmed; a full settle on "b"
    lab = ScriptedLab([("a",), ("b",)])
    lab.wait_settled("after the fix", window=False)
    lab.confirm_stable()
    assert lab._settled[0] == ("b",)


def test_fix_window_not_repeated_when_the_fault_never_touched_the_control_plane():
    lab = ScriptedLab([("a",)])
    lab.wait_settled("before the fault")          # a full window on "a"
    settled_at = lab._settled[1]
    lab.wait_settled("after the fix", window=False)
    lab.calls = 0
    lab.confirm_stable()                          # came back as "a", still "a": one look
    assert lab.calls == 1 and lab._settled == (("a",), settled_at)


def test_fix_window_held_when_the_control_plane_changed_or_is_unknown():
    # settled as "a", came back as "b" (a pod restarted during the fault): the window is held
    lab = ScriptedLab([("a",)])
    lab.wait_settled("before the fault")
    lab.fps, lab.calls = [("b",)], 0
    lab.wait_settled("after the fix", window=False)
    lab.calls = 0
    lab.confirm_stable()
    assert lab.calls > 2 and lab._settled[0] == ("b",)
    # came back as "a" but the look after the verification sees nothing (not Ready): no shortcut
    lab = ScriptedLab([("a",)])
    lab.wait_settled("before the fault")
    lab.wait_settled("after the fix", window=False)
    lab.fps, lab.calls = [None, ("a",)], 0
    lab.confirm_stable()
    assert lab.calls > 2 and lab._settled[0] == ("a",)


class _Kube:
    def __init__(self, api_ok=True):
        self.api_ok = api_ok

    def readyz(self):
        return self.api_ok, "readyz"


def _backoff_lab(reasons, api_ok=True):
    from types import SimpleNamespace

    from tests.unit.fakenode import FakeNode
    class Recording(Reporter):
        def attach(self, name, body, kind="text"):
            self.attachments.append((name, body))
    rep = Recording()
    rep.attachments = []
    lab = Lab(kube=_Kube(api_ok), node=FakeNode(), node_name="n", reporter=rep, poll=0.01)
    lab.component_view = lambda c: SimpleNamespace(waiting_reason=reasons.get(c))
    return lab


def test_crash_backoff_cleared_once_a_minute_only_when_stuck_and_the_api_answers():
    lab = _backoff_lab({"kube-scheduler": "CrashLoopBackOff"})
    assert lab.clear_crash_backoff("probe pod Pending")
    assert lab.node.calls == [("systemctl", "restart", "kubelet")]
    assert not lab.clear_crash_backoff("still Pending")          # within the minute: not again
    assert len(lab.node.calls) == 1
    assert any(a[0] == "kubelet restarted to clear crash back-off" for a in lab.reporter.attachments)
    # nothing in CrashLoopBackOff, or the API not answering (the back-off may be the fault's own)
    assert not _backoff_lab({"kube-scheduler": "ContainerCreating"}).clear_crash_backoff("x")
    assert not _backoff_lab({"kube-scheduler": "CrashLoopBackOff"}, api_ok=False).clear_crash_backoff("x")


def test_unstuck_looks_for_a_back_off_every_5_s_while_the_wait_is_not_over(monkeypatch):
    lab = _backoff_lab({"kube-controller-manager": "CrashLoopBackOff"})
    now = {"t": 100.0}
    monkeypatch.setattr("breakfix.lab_settle.time.monotonic", lambda: now["t"])
    seen = [Observation(False, "not Ready")]
    probe = lab.unstuck(lambda: seen[0])
    probe()                                   # just after the restore: no look yet
    assert lab.node.calls == []
    now["t"] += 5
    probe()                                   # 5 s on, still not Ready, stuck: the kubelet restarted
    assert lab.node.calls == [("systemctl", "restart", "kubelet")]
    seen[0] = Observation(True, "Ready")
    now["t"] += 70
    assert probe().ok and len(lab.node.calls) == 1     # Ready: nothing more
