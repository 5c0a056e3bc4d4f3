"""The scenario runner: the one place where a fault's cycle (settle -> break -> symptoms -> fix ->
verify) is written down. Every caller (the suite, the labs, `make bench`, `breakfix break`, `breakfix
lab setup`, a fault on several nodes) runs it and only says what differs: a step it leaves out or
does its own way, and what the cleanup does.

What the runner guarantees, whatever a step does:
- the steps run in their order, each timed as `phase: NAME` (the report's timing picture);
- each step has its own ceiling (`Step.timeout`, seconds): a step still running past it is stopped
  with StepTimeout (a WaitTimeout) in the main thread, and failed as soon as it returns elsewhere;
  the waits inside a step keep their own, shorter, deadlines;
- the cleanup runs exactly once, after the steps: on success, on a failed step, on a timeout and on
  Ctrl-C (held until the cleanup is done, then raised);
- on failure, the last observed state (the failed wait's last observation, and a fresh look at the
  cluster when the caller gives one) is reported and added to the error.
"""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import NotRecovered, SymptomNotObserved, WaitTimeout
from .interrupts import deferred_interrupts
from .report import Reporter
from .waits import Observation, wait_until

if TYPE_CHECKING:   # the engine's own types, for annotations only (lab.py imports this module)
    from .catalog import Fault
    from .lab import Injection, Lab

PHASES = ("settle", "break", "symptoms", "fix", "verify")
LOOK_SECONDS = 20.0   # how long the look at the cluster after a failure may take


class StepTimeout(WaitTimeout):
    """A step ran past its own ceiling."""


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[], object]
    timeout: float | None = None   # seconds; None: the step's own waits are its only bound


@dataclass
class Outcome:
    seconds: dict[str, float] = field(default_factory=dict)   # each step that ran, in order
    failed: str | None = None                                  # the step that raised, if one did


@contextlib.contextmanager
def ceiling(step: Step) -> Iterator[None]:
    """STEP's timeout: in the main thread an interval timer raises StepTimeout inside the step;
    elsewhere (no signals there) the step fails as soon as it returns past its ceiling."""
    if not step.timeout:
        yield
        return
    t0 = time.monotonic()

    def expired() -> StepTimeout:
        return StepTimeout(f"step {step.name}", step.timeout, f"still running after {time.monotonic() - t0:.1f}s")

    if threading.current_thread() is not threading.main_thread():
        yield
        if time.monotonic() - t0 > step.timeout:
            raise expired()
        return

    def fire(_signum, _frame):
        raise expired()

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, step.timeout)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _bounded_look(look: Callable[[], str]) -> str:
    """LOOK's answer, or why there is none (it raised, or took over LOOK_SECONDS)."""
    box: list[str] = []

    def go() -> None:
        try:
            box.append(look())
        except Exception as exc:  # noqa: BLE001 - a failed look is itself what was seen
            box.append(f"(could not look: {type(exc).__name__}: {' '.join(str(exc).split())[:300]})")
    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(LOOK_SECONDS)
    return box[0] if box else f"(no answer within {LOOK_SECONDS:g}s)"


def run_steps(steps: list[Step], *, cleanup: Callable[[BaseException | None], None] | None = None,
              reporter: Reporter | None = None, look: Callable[[], str] | None = None,
              judge: Callable[[BaseException, str], BaseException] | None = None, **labels) -> Outcome:
    """Run STEPS in order (see the module's guarantees). CLEANUP(error or None) runs once at the end,
    Ctrl-C held meanwhile. JUDGE(error, step name) may turn a step's error into another (a verdict);
    LOOK() is the state now, asked once on failure. LABELS go with each step's timing."""
    reporter = reporter or Reporter()
    out = Outcome()
    error: BaseException | None = None
    try:
        for step in steps:
            out.failed = step.name
            t0 = time.monotonic()
            try:
                with reporter.timed(f"phase: {step.name}", **labels), ceiling(step):
                    step.run()
            finally:
                out.seconds[step.name] = time.monotonic() - t0
        out.failed = None
    except BaseException as exc:  # noqa: BLE001 - Ctrl-C too: the cleanup runs, then it is raised again
        error = exc
    if error is not None:
        error = _explain(error, out.failed, reporter, look, judge)
    try:
        with deferred_interrupts():
            if cleanup is not None:
                cleanup(error)
    except BaseException as exc:  # noqa: BLE001
        if error is None:
            raise
        reporter.attach(f"cleanup after the failed step {out.failed} failed too", f"{type(exc).__name__}: {exc}")
        error.add_note(f"the cleanup failed too: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
        if isinstance(exc, KeyboardInterrupt) and not isinstance(error, KeyboardInterrupt):
            error.add_note("interrupted during the cleanup, after it completed")
    if error is not None:
        raise error
    return out


def _explain(error: BaseException, step: str | None, reporter: Reporter, look, judge) -> BaseException:
    """The error a failed STEP raises: judged, with the last observed state attached (reported and
    added to the error as a note)."""
    seen = []
    if isinstance(error, WaitTimeout):
        seen.append(f"last seen by {error.what}: {error.last_seen}")
    if look is not None and not isinstance(error, KeyboardInterrupt):
        seen.append(f"now: {_bounded_look(look)}")
    if seen:
        text = "\n".join(seen)
        reporter.attach(f"last observed state (step {step} failed)", text)
        error.last_observed = text   # type: ignore[attr-defined]
    judged = judge(error, step) if judge is not None and step is not None else error
    if judged is not error:
        judged.__cause__ = None
        judged.__suppress_context__ = True
        if seen:
            judged.last_observed = error.last_observed   # type: ignore[attr-defined]
    if seen and not isinstance(judged, KeyboardInterrupt):
        judged.add_note(f"last observed state (step {step}):\n{text}"[:2000])
    return judged


def verdict(exc: BaseException, phase: str, fault_id: str) -> BaseException:
    """A wait that ran out in a phase that judges the fault is that verdict (Failed in the report):
    while looking for the symptoms, the symptom was not observed; during the fix or the check after
    it, the cluster did not recover. Elsewhere (settling before the fault, breaking it) it stays a
    WaitTimeout, no verdict on the fault; any other error stays as it is."""
    if not isinstance(exc, WaitTimeout):
        return exc
    if phase == "symptoms":
        return SymptomNotObserved(exc.what, f"not seen within {exc.timeout:.0f}s; last seen: {exc.last_seen}")
    if phase in ("fix", "verify"):
        return NotRecovered(fault_id, str(exc))
    return exc


# --- the fault cycle ---------------------------------------------------------------------------

@dataclass
class Cycle:
    """What passes between the steps of one fault's cycle, typed: the labs (one per node the fault
    breaks, the first reads the evidence), each node's injection, the evidence by symptom kind."""
    fault: Fault
    labs: list[Lab]
    register: Callable
    injections: list[Injection] = field(default_factory=list)
    evidence: dict[str, str] = field(default_factory=dict)
    outcome: Outcome | None = None

    @property
    def lab(self) -> Lab:
        return self.labs[0]

    @property
    def injection(self) -> Injection:
        return self.injections[0]


StepBody = Callable[[Cycle], object]
DEFAULT = object()   # a phase done the standard way (the suite's)


def settle(c: Cycle) -> None:
    c.lab.wait_settled("control plane Ready before the fault", clear_backoff=True, reuse=True)


def inject(c: Cycle) -> None:
    for lab in c.labs:                    # each registers its restore before its own change
        c.injections.append(lab.inject(c.fault, c.register))
    # the symptoms of a fault on several nodes count from the last node's change
    c.injection.started = c.injections[-1].started


def observe(c: Cycle) -> None:
    c.evidence = c.lab.observe(c.injection)


def fix(c: Cycle) -> None:
    """Put every node back before any recovery is awaited (with two etcd members down nothing
    answers until both are back); one node: its restore and its recovery, the stability window in
    full or overlapped with the verification (Lab.full_window_after_fix)."""
    if len(c.labs) == 1:
        c.lab.restore(c.injection, window=c.lab.full_window_after_fix(c.fault))
        return
    first, t0 = c.lab, time.monotonic()
    for lab, inj in zip(c.labs, c.injections):
        lab.restore(inj, wait=False)
    obs = wait_until(lambda: Observation(*first.kube.readyz()), "API ready again after the fix", first.t("recover"))
    first.reporter.timing("fix->API ready", time.monotonic() - t0, fault=c.fault.id, nodes=len(c.labs))
    first.reporter.attach("API after the fix", obs.text())
    for lab, inj in zip(c.labs, c.injections):
        lab.wait_recovered(inj)
    first.reporter.timing("fix->recovered", time.monotonic() - t0, fault=c.fault.id, nodes=len(c.labs))


def verify(c: Cycle) -> None:
    c.lab.verify(c.fault, c.injection)
    c.lab.confirm_stable()


def restore_all(c: Cycle, wait: bool = True) -> None:
    """Every injection put back (idempotent: one the fix step restored is left alone), all of them
    before any recovery is awaited."""
    for lab, inj in zip(c.labs, c.injections):
        lab.restore(inj, wait=False)
    if wait:
        for lab, inj in zip(c.labs, c.injections):
            lab.wait_recovered(inj)


def budgets(lab: Lab, fault: Fault) -> dict[str, float]:
    """Each step's ceiling: the sum of the deadlines of the waits inside it, and a minute more. The
    waits themselves end first and say what they saw; the ceiling stops a step stuck elsewhere."""
    t = lab.t
    look = max(t("symptom"), t("node_not_ready")) + 2 * t("hold") + 60
    after_fix = t("recover") + t("settle") + t("stable")
    return {"settle": t("settle") + t("stable") + 60,
            "break": t("took_effect") + t("node_not_ready") + t("settle") + 60,
            "symptoms": look * max(len(fault.symptoms), 1) + 60,
            "fix": after_fix + 60,
            "verify": t("schedule") + 2 * t("scale") + after_fix + 60}


def _default_cleanup(c: Cycle) -> Callable[[BaseException | None], None]:
    def cleanup(error: BaseException | None) -> None:
        if error is not None:
            restore_all(c)
    return cleanup


def by_teardown(c: Cycle, error: BaseException | None) -> None:
    """The cleanup of a caller whose REGISTER is its own teardown (pytest's finalizers, that run on
    pass, fail, error and Ctrl-C, and leave the fault to the node's journal when the node restarted
    under the test): nothing more here, the restores registered before each change run there."""


STANDARD: dict[str, StepBody] = {"settle": settle, "break": inject, "symptoms": observe, "fix": fix,
                                 "verify": verify}


def run_cycle(labs: list[Lab], fault: Fault, register: Callable, *,
              cleanup: Callable[[Cycle, BaseException | None], None] | None = None,
              **phases: StepBody | None) -> Cycle:
    """FAULT's cycle on LABS (one per node it breaks). PHASES: a step done another way (a callable
    taking the Cycle), or None to leave it out; the rest are STANDARD. REGISTER(undo) is the
    caller's own list of restores (each registered before its change). CLEANUP(cycle, error), once
    at the end; without it, a failure puts every node back and waits for its recovery."""
    unknown = set(phases) - set(PHASES)
    if unknown:
        raise TypeError(f"run_cycle: no phase {sorted(unknown)}; the phases are {PHASES}")
    c = Cycle(fault, list(labs), register)
    limits = budgets(c.lab, fault)
    steps = []
    for name in PHASES:
        body = phases.get(name, STANDARD[name])
        if body is not None:
            steps.append(Step(name, (lambda b=body: b(c)), limits[name]))
    done = _default_cleanup(c) if cleanup is None else (lambda error: cleanup(c, error))
    c.outcome = run_steps(steps, cleanup=done, reporter=c.lab.reporter,
                          look=lambda: c.lab.control_plane_ready().text().replace("; ", "\n"),
                          judge=lambda exc, phase: verdict(exc, phase, fault.id), fault=fault.id)
    return c
