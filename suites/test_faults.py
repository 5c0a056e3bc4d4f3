"""One test per fault of the catalog: break, observe, fix, verify (ids = fault ids). Its title is
the fault's title, its parameters the fault id and component, its description the remediation
(Markdown), and it ends with its phase timings as one picture."""
import pytest

from breakfix.report import describe_fault_test


@pytest.mark.e2e
def test_fault(fault, phase_picture, writable_lab, restore_on_exit):
    lab = writable_lab
    describe_fault_test(fault)
    evidence = lab.run_fault(fault, restore_on_exit)
    assert set(evidence) == {s["kind"] for s in fault.symptoms}
    phase_picture.attach()
