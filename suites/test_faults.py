"""One test per fault of the catalog: break, observe, fix, verify (ids = fault ids). Its title is
the fault's title, its parameters the fault id and component, its description the remediation
(Markdown), and it ends with its phase timings as one picture."""
import allure
import pytest

from breakfix.members import run_fault_on
from breakfix.report import Shown, describe_fault_test


@pytest.mark.e2e
def test_fault(fault, phase_picture, fault_labs, restore_on_exit):
    describe_fault_test(fault)
    allure.dynamic.parameter("node", Shown(", ".join(f"{sel} ({lb.node_name})"
                                                     for sel, lb in zip(fault.nodes, fault_labs))))
    evidence = run_fault_on(fault_labs, fault, restore_on_exit)
    assert set(evidence) == {s["kind"] for s in fault.symptoms}
    phase_picture.attach()
