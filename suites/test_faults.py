"""One test per fault of the catalog, through the scenario runner (breakfix/runner.py): settle,
break, observe, fix, verify (ids = fault ids). Its title is
the fault's title, its parameters the fault id and component, its description the remediation
(Markdown), and it ends with its phase timings as one picture."""
import allure
import pytest

from breakfix.runner import PHASES, by_teardown, run_cycle
from breakfix.report import Shown, describe_fault_test


@pytest.mark.e2e
def test_fault(fault, phase_picture, fault_labs, restore_on_exit):
    describe_fault_test(fault)
    allure.dynamic.parameter("node", Shown(", ".join(f"{sel} ({lb.node_name})"
                                                     for sel, lb in zip(fault.nodes, fault_labs))))
    cycle = run_cycle(fault_labs, fault, restore_on_exit, cleanup=by_teardown)
    # every step ran in order, every node was put back, and each symptom's evidence says something
    assert tuple(cycle.outcome.seconds) == PHASES
    assert [i.restored for i in cycle.injections] == [True] * len(fault_labs)
    empty = [s["kind"] for s in fault.symptoms if not cycle.evidence.get(s["kind"], "").strip()]
    assert not empty, f"symptoms with no evidence: {empty}"
    phase_picture.attach()
