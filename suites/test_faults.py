"""One test per fault of the catalog: break, observe, fix, verify (ids = fault ids)."""
import allure
import pytest


@pytest.mark.e2e
def test_fault(fault, fault_lab, restore_on_exit):
    lab = fault_lab
    allure.dynamic.epic("Control plane failures")
    allure.dynamic.feature(fault.component)
    allure.dynamic.suite(fault.component)
    allure.dynamic.story(fault.title)
    allure.dynamic.severity(fault.severity)
    allure.dynamic.tag(fault.id)
    allure.dynamic.parameter("node", f"{fault.node} ({lab.node_name})")
    allure.dynamic.description(f"**Fix:** {fault.fix}\n\n**Remediation:** {fault.remediation}")
    evidence = lab.run_fault(fault, restore_on_exit)
    assert set(evidence) == {s["kind"] for s in fault.symptoms}
