"""The scenario runner's guarantees (breakfix/runner.py), with fakes and no cluster: the steps run in
order, each step's ceiling applies, the cleanup runs exactly once whatever happens (success, a
failed step, a timeout, Ctrl-C, Ctrl-C during the cleanup itself), and the last observed state is
reported with the error. Then the fault cycle on fake labs: its order on one node and on several, and
every node put back when a step fails."""
from __future__ import annotations

import os
import signal
import threading
import time
from types import SimpleNamespace

import pytest

from breakfix import runner
from breakfix.errors import NotRecovered, SymptomNotObserved, WaitTimeout
from breakfix.lab_inject import InjectionContext
from breakfix.report import Reporter
from breakfix.runner import PHASES, Step, StepTimeout, run_cycle, run_steps
from breakfix.waits import Observation


class Recorder(Reporter):
    def __init__(self) -> None:
        super().__init__()
        self.attached: dict[str, str] = {}

    def attach(self, name, body, kind="text"):
        self.attached[name] = body


def stuck(seconds: float = 30.0):
    """A step that would block for SECONDS (an event nobody sets)."""
    return lambda: threading.Event().wait(seconds)


def test_steps_run_in_order_each_timed_and_cleanup_runs_once_on_success():
    log, rep = [], Recorder()
    out = run_steps([Step(n, lambda n=n: log.append(n)) for n in ("a", "b", "c")],
                    cleanup=lambda err: log.append(("cleanup", err)), reporter=rep, fault="f")
    assert log == ["a", "b", "c", ("cleanup", None)]
    assert list(out.seconds) == ["a", "b", "c"] and out.failed is None
    assert [t["name"] for t in rep.timings] == ["phase: a", "phase: b", "phase: c"]
    assert {t["fault"] for t in rep.timings} == {"f"}


def test_a_failed_step_stops_the_rest_and_the_cleanup_sees_its_error():
    log = []

    def boom():
        raise RuntimeError("step b broke")
    with pytest.raises(RuntimeError, match="step b broke"):
        run_steps([Step("a", lambda: log.append("a")), Step("b", boom), Step("c", lambda: log.append("c"))],
                  cleanup=lambda err: log.append(("cleanup", str(err))))
    assert log == ["a", ("cleanup", "step b broke")]


def test_a_step_past_its_timeout_is_stopped_and_cleaned_up():
    log = []
    t0 = time.monotonic()
    with pytest.raises(StepTimeout) as e:
        run_steps([Step("fast", lambda: log.append("fast"), timeout=5), Step("slow", stuck(), timeout=0.3),
                   Step("after", lambda: log.append("after"))],
                  cleanup=lambda err: log.append(("cleanup", type(err).__name__)))
    assert time.monotonic() - t0 < 5            # stopped at its own ceiling, not after 30 s
    assert log == ["fast", ("cleanup", "StepTimeout")]
    assert e.value.what == "step slow" and e.value.timeout == 0.3
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)   # no timer left armed


def test_the_timer_of_a_step_that_ended_in_time_does_not_fire_later():
    out = run_steps([Step("a", lambda: None, timeout=0.2), Step("b", lambda: threading.Event().wait(0.4))])
    assert list(out.seconds) == ["a", "b"]


def test_outside_the_main_thread_a_step_over_its_ceiling_fails_when_it_returns():
    box = {}

    def go():
        try:
            run_steps([Step("slow", lambda: threading.Event().wait(0.3), timeout=0.1)],
                      cleanup=lambda err: box.setdefault("cleanup", type(err).__name__))
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc
    t = threading.Thread(target=go)
    t.start()
    t.join(10)
    assert isinstance(box["error"], StepTimeout) and box["cleanup"] == "StepTimeout"


def test_ctrl_c_in_a_step_runs_the_cleanup_then_is_raised():
    log = []

    def interrupted():
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        run_steps([Step("a", interrupted), Step("b", lambda: log.append("b"))],
                  cleanup=lambda err: log.append(("cleanup", type(err).__name__)))
    assert log == [("cleanup", "KeyboardInterrupt")]


def test_ctrl_c_during_the_cleanup_is_held_until_it_is_done():
    log = []

    def cleanup(err):
        os.kill(os.getpid(), signal.SIGINT)     # Ctrl-C mid-restore
        log.append("restore finished")
    with pytest.raises(KeyboardInterrupt, match="restore completed"):
        run_steps([Step("a", lambda: log.append("a"))], cleanup=cleanup)
    assert log == ["a", "restore finished"]


def test_a_failed_cleanup_after_a_failed_step_keeps_the_step_error_and_says_both():
    rep = Recorder()

    def boom():
        raise RuntimeError("symptom step broke")

    def cleanup(err):
        raise NotRecovered("f", "API never came back")
    with pytest.raises(RuntimeError, match="symptom step broke") as e:
        run_steps([Step("symptoms", boom)], cleanup=cleanup, reporter=rep)
    assert any("API never came back" in n for n in e.value.__notes__)
    assert "NotRecovered" in rep.attached["cleanup after the failed step symptoms failed too"]


def test_a_failed_cleanup_after_success_is_the_error():
    def cleanup(err):
        raise NotRecovered("f", "API never came back")
    with pytest.raises(NotRecovered):
        run_steps([Step("a", lambda: None)], cleanup=cleanup)


def test_the_last_observed_state_is_reported_and_added_to_the_error():
    rep = Recorder()

    def waits():
        raise WaitTimeout("scheduler Ready", 90, "kube-scheduler: CrashLoopBackOff restarts=4")
    with pytest.raises(WaitTimeout) as e:
        run_steps([Step("fix", waits)], reporter=rep, look=lambda: "node n: Ready=True; readyz ok")
    shown = rep.attached["last observed state (step fix failed)"]
    assert "kube-scheduler: CrashLoopBackOff restarts=4" in shown and "now: node n: Ready=True" in shown
    assert e.value.last_observed == shown
    assert any("CrashLoopBackOff" in n for n in e.value.__notes__)


def test_a_look_that_fails_or_hangs_is_itself_what_was_seen(monkeypatch):
    monkeypatch.setattr(runner, "LOOK_SECONDS", 0.2)
    rep = Recorder()

    def boom():
        raise RuntimeError("x")

    def bad_look():
        raise ConnectionError("API refused")
    with pytest.raises(RuntimeError):
        run_steps([Step("a", boom)], reporter=rep, look=bad_look)
    assert "could not look: ConnectionError: API refused" in rep.attached["last observed state (step a failed)"]
    with pytest.raises(RuntimeError):
        run_steps([Step("b", boom)], reporter=rep, look=stuck(5))
    assert "no answer within 0.2s" in rep.attached["last observed state (step b failed)"]


def test_the_judge_turns_a_steps_error_into_its_verdict():
    def waits():
        raise WaitTimeout("a pod Pending", 120, "pod p Running")
    with pytest.raises(SymptomNotObserved, match="not seen within 120s; last seen: pod p Running"):
        run_steps([Step("symptoms", waits)], judge=lambda exc, step: runner.verdict(exc, step, "f"))
    assert isinstance(runner.verdict(RuntimeError("x"), "fix", "f"), RuntimeError)   # only waits are judged
    assert isinstance(runner.verdict(WaitTimeout("w", 1, "s"), "break", "f"), WaitTimeout)


# --- the fault cycle on fake labs --------------------------------------------------------------

class FakeKube:
    """A fake API: /readyz answers as told."""

    def __init__(self, log: list, ready: bool = True):
        self.log, self.ready = log, ready

    def readyz(self):
        self.log.append("readyz")
        return self.ready, f"readyz {'ok' if self.ready else 'refused'}"


class FakeLab:
    """What run_cycle asks of a Lab, each call logged as (node, what); FAILS: the phase that raises."""

    def __init__(self, name: str, log: list, fails: str | None = None):
        self.node_name, self.log, self.fails = name, log, fails
        self.reporter, self.kube = Recorder(), FakeKube(log)

    def t(self, name):
        return 30.0

    def _do(self, what, phase=None):
        self.log.append((self.node_name, what))
        if phase and phase == self.fails:
            raise WaitTimeout(what, 30, f"{self.node_name} still broken")

    def wait_settled(self, *a, **kw):
        self._do("settle", "settle")

    def inject(self, fault, register):
        inj = SimpleNamespace(node=self.node_name, started=time.monotonic(), restored=False, context=InjectionContext())
        register(lambda wait=True: self.restore(inj, wait))
        self._do("inject", "break")
        return inj

    def observe(self, inj):
        self._do("observe", "symptoms")
        return {"api_unavailable": f"seen on {self.node_name}"}

    def full_window_after_fix(self, fault):
        return True

    def restore(self, inj, wait=True, window=True):
        if inj.restored:
            return
        inj.restored = True
        self._do(f"restore wait={wait} window={window}")
        if wait:
            self.wait_recovered(inj)

    def wait_recovered(self, inj, window=True):
        self._do("recovered", "fix")

    def verify(self, fault, inj):
        self._do("verify", "verify")

    def confirm_stable(self):
        self._do("confirm_stable")

    def control_plane_ready(self):
        return Observation(False, f"{self.node_name}: kube-apiserver not ready")


FAULT = SimpleNamespace(id="demo", symptoms=[{"kind": "api_unavailable"}])


def test_one_node_cycle_runs_the_five_phases_in_order():
    log, undos = [], []
    c = run_cycle([FakeLab("n1", log)], FAULT, undos.append)
    assert [w for _, w in log] == ["settle", "inject", "observe", "restore wait=True window=True", "recovered",
                                   "verify", "confirm_stable"]
    assert tuple(c.outcome.seconds) == PHASES and c.evidence == {"api_unavailable": "seen on n1"}
    assert len(undos) == 1 and c.injection.restored


def test_several_nodes_are_all_put_back_before_any_recovery_is_awaited():
    log = []
    c = run_cycle([FakeLab("m1", log), FakeLab("m2", log)], FAULT, lambda undo: None)
    assert log == [("m1", "settle"), ("m1", "inject"), ("m2", "inject"), ("m1", "observe"),
                   ("m1", "restore wait=False window=True"), ("m2", "restore wait=False window=True"), "readyz",
                   ("m1", "recovered"), ("m2", "recovered"), ("m1", "verify"), ("m1", "confirm_stable")]
    assert c.injection.started == c.injections[-1].started   # symptoms count from the last change


@pytest.mark.parametrize("phase", ["symptoms", "verify"])
def test_a_failed_step_puts_every_node_back_with_its_verdict(phase):
    log = []
    labs = [FakeLab("m1", log, fails=phase), FakeLab("m2", log)]
    with pytest.raises(SymptomNotObserved if phase == "symptoms" else NotRecovered) as e:
        run_cycle(labs, FAULT, lambda undo: None)
    assert "m1 still broken" in str(e.value)
    after = log[log.index(("m1", {"symptoms": "observe"}.get(phase, phase))) + 1:]
    if phase == "symptoms":   # the cleanup: both put back, then both awaited
        assert after == [("m1", "restore wait=False window=True"), ("m2", "restore wait=False window=True"),
                         ("m1", "recovered"), ("m2", "recovered")]
    else:                     # already put back by the fix step: nothing restored twice
        assert after == [("m1", "recovered"), ("m2", "recovered")]
    assert "m1: kube-apiserver not ready" in labs[0].reporter.attached[f"last observed state (step {phase} failed)"]


def test_a_phase_left_out_or_replaced():
    log = []
    c = run_cycle([FakeLab("n1", log)], FAULT, lambda undo: None, settle=None, fix=None,
                  verify=lambda c: log.append("own verify"), cleanup=lambda c, err: log.append(("cleanup", err)))
    assert log == [("n1", "inject"), ("n1", "observe"), "own verify", ("cleanup", None)]
    assert list(c.outcome.seconds) == ["break", "symptoms", "verify"]
    with pytest.raises(TypeError, match="no phase"):
        run_cycle([FakeLab("n1", log)], FAULT, lambda undo: None, observe=None)


def test_ctrl_c_while_journaling_is_held_until_the_undo_is_registered():
    """A Ctrl-C that lands between the journal entry and its registered undo is held: the undo is
    registered, nothing is changed, then the interrupt is raised and the undo puts back what the
    entry names."""
    from tests.unit.test_journal import FAULTS, MANIFEST, ORIGINAL, LabNode, lab_on
    node = LabNode({MANIFEST: ORIGINAL})
    lab, undos = lab_on(node), []
    real_record = lab.journal.record

    def record_then_ctrl_c(entry):
        done = real_record(entry)
        os.kill(os.getpid(), signal.SIGINT)    # Ctrl-C right after the journal is written
        return done
    lab.journal.record = record_then_ctrl_c
    with pytest.raises(KeyboardInterrupt, match="during journaling; journaling completed"):
        lab.inject(FAULTS["manifest"], register=undos.append)
    assert len(undos) == 1 and not undos[0].injection.changed
    assert node.files[MANIFEST][0] == ORIGINAL          # nothing changed
    undos[0](wait=False)                                # the runner's cleanup: the entry is put back
    assert undos[0].injection.restored and lab.leftovers() == []


def test_a_caller_whose_teardown_owns_the_restores_gets_them_there():
    """cleanup=by_teardown (the suite: pytest's finalizers restore, or leave the fault to the journal
    when the node restarted): nothing is restored in the cycle; the registered undos do it after."""
    log, undos = [], []
    with pytest.raises(SymptomNotObserved):
        run_cycle([FakeLab("n1", log, fails="symptoms")], FAULT, undos.append, cleanup=runner.by_teardown)
    assert log[-1] == ("n1", "observe") and len(undos) == 1
    undos[0]()
    assert log[-2:] == [("n1", "restore wait=True window=True"), ("n1", "recovered")]
