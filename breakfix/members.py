"""One fault on several nodes at once (a fault file whose `node:` lists more than one, e.g. two of
three etcd members): each node's Lab backs up, journals and registers its own restore before its
change, exactly as for one node; the evidence is read through the first. Every node is put back
before any recovery is awaited (with two members down nothing answers until both are back), and
the time from the fix to a ready API is reported."""
from __future__ import annotations

import time

from .catalog import Fault
from .errors import NotRecovered, SymptomNotObserved, WaitTimeout
from .waits import Observation, wait_until


def verdict(exc: WaitTimeout, phase: str | None, fault: Fault) -> Exception:
    """A wait that ran out in a phase that judges the fault is that verdict (Failed in the report):
    while looking for the symptoms, the symptom was not observed; during the fix or the check
    after it, the cluster did not recover. Elsewhere (settling before the fault) it stays a
    WaitTimeout, no verdict on the fault."""
    if phase == "symptoms":
        return SymptomNotObserved(exc.what, f"not seen within {exc.timeout:.0f}s; last seen: {exc.last_seen}")
    if phase in ("fix", "verify"):
        return NotRecovered(fault.id, str(exc))
    return exc


def _phase_at(lab, first: int, fault: Fault) -> str | None:
    """The phase of Lab.run_fault that ended last since timing FIRST (Lab.phase times each, also
    when it raises)."""
    names = [t["name"].removeprefix("phase: ") for t in lab.reporter.timings[first:]
             if t["name"].startswith("phase: ") and t.get("fault") == fault.id]
    return names[-1] if names else None


def run_fault_on(labs: list, fault: Fault, register) -> dict[str, str]:
    if len(labs) == 1:
        lab, first = labs[0], len(labs[0].reporter.timings)
        try:
            return lab.run_fault(fault, register)
        except WaitTimeout as exc:
            judged = verdict(exc, _phase_at(lab, first, fault), fault)
            if judged is exc:
                raise
            raise judged from None
    first = labs[0]
    first.wait_settled("control plane Ready before the fault", clear_backoff=True)
    injections = []
    for lab in labs:                       # each registers its restore before its own change
        injections.append(lab.inject(fault, register))
    inj = injections[0]
    inj.started = injections[-1].started   # symptoms of the whole fault count from the last node's change
    try:
        evidence = first.observe(inj)
    except WaitTimeout as exc:
        raise verdict(exc, "symptoms", fault) from None
    t0 = time.monotonic()
    for lab, i in zip(labs, injections):
        lab.restore(i, wait=False)
    try:
        obs = wait_until(lambda: Observation(*first.kube.readyz()), "API ready again after the fix", first.t("recover"))
    except WaitTimeout as exc:
        raise NotRecovered(fault.id, str(exc)) from None
    first.reporter.timing("fix->API ready", time.monotonic() - t0, fault=fault.id, nodes=len(labs))
    first.reporter.attach("API after the fix", obs.text())
    try:
        for lab, i in zip(labs, injections):
            lab.wait_recovered(i)
        first.reporter.timing("fix->recovered", time.monotonic() - t0, fault=fault.id, nodes=len(labs))
        first.verify(fault, inj)
    except WaitTimeout as exc:
        raise verdict(exc, "verify", fault) from None
    return evidence
