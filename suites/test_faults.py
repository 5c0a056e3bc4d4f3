"""One test per fault of the catalog: break, observe, fix, verify (ids = fault ids)."""
import allure
import pytest

from breakfix.members import run_fault_on


@pytest.mark.e2e
def test_fault(fault, fault_labs, restore_on_exit):
    lab = fault_labs[0]
    allure.dynamic.epic("Control plane failures")
    allure.dynamic.feature(fault.component)
    allure.dynamic.suite(fault.component)
    allure.dynamic.story(fault.title)
    allure.dynamic.severity(fault.severity)
    allure.dynamic.tag(fault.id)
    allure.dynamic.parameter("node", ", ".join(f"{sel} ({lb.node_name})" for sel, lb in zip(fault.nodes, fault_labs)))
    allure.dynamic.description(f"**Fix:** {fault.fix}\n\n**Remediation:** {fault.remediation}")
    evidence = run_fault_on(fault_labs, fault, restore_on_exit)
    assert set(evidence) == {s["kind"] for s in fault.symptoms}
