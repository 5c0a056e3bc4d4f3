"""One test per fault of the catalog: break, observe, fix, verify (ids = fault ids). Its title is
the fault's title, its parameters the fault id and component, its description the remediation
(Markdown), and it ends with its phase timings as one picture."""
import allure
import pytest

from breakfix.report import fault_description


@pytest.mark.e2e
def test_fault(fault, phase_picture, writable_lab, restore_on_exit):
    lab = writable_lab
    allure.dynamic.title(fault.title)
    allure.dynamic.parameter("fault", fault.id)
    allure.dynamic.parameter("component", fault.component)
    allure.dynamic.epic("Control plane failures")
    allure.dynamic.feature(fault.component)
    allure.dynamic.suite(fault.component)
    allure.dynamic.story(fault.title)
    allure.dynamic.severity(fault.severity)
    allure.dynamic.tag(fault.id)
    allure.dynamic.description(fault_description(fault))
    evidence = lab.run_fault(fault, restore_on_exit)
    assert set(evidence) == {s["kind"] for s in fault.symptoms}
