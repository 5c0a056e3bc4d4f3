"""One fault on several nodes at once (a fault file whose `node:` lists more than one, e.g. two of
three etcd members): each node's Lab backs up, journals and registers its own restore before its
change, exactly as for one node; the evidence is read through the first. Every node is put back
before any recovery is awaited (with two members down nothing answers until both are back), and
the time from the fix to a ready API is reported."""
from __future__ import annotations

import time

from .catalog import Fault
from .errors import NotRecovered, WaitTimeout
from .waits import Observation, wait_until


def run_fault_on(labs: list, fault: Fault, register) -> dict[str, str]:
    if len(labs) == 1:
        return labs[0].run_fault(fault, register)
    first = labs[0]
    first.wait_settled("control plane Ready before the fault", clear_backoff=True)
    injections = []
    for lab in labs:                       # each registers its restore before its own change
        injections.append(lab.inject(fault, register))
    inj = injections[0]
    inj.started = injections[-1].started   # symptoms of the whole fault count from the last node's change
    evidence = first.observe(inj)
    t0 = time.monotonic()
    for lab, i in zip(labs, injections):
        lab.restore(i, wait=False)
    try:
        obs = wait_until(lambda: Observation(*first.kube.readyz()), "API ready again after the fix", first.t("recover"))
    except WaitTimeout as exc:
        raise NotRecovered(fault.id, str(exc)) from None
    first.reporter.timing("fix->API ready", time.monotonic() - t0, fault=fault.id, nodes=len(labs))
    first.reporter.attach("API after the fix", obs.text())
    for lab, i in zip(labs, injections):
        lab.wait_recovered(i)
    first.reporter.timing("fix->recovered", time.monotonic() - t0, fault=fault.id, nodes=len(labs))
    first.verify(fault, inj)
    return evidence
