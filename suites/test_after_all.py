"""After every fault: the node's files are byte-identical to before the run (sha256 of every file
under /etc/kubernetes and the kubelet's config) and the whole control plane is Ready.
(Under `-n N` no worker runs last: this test is deselected and each worker checks its own cluster
the same way when its session ends, fixtures/lab.py.)"""
import allure
import pytest

from fixtures.reporting import phase_overview


@pytest.mark.e2e
@pytest.mark.after_all
@allure.epic("Control plane failures")
@allure.feature("cluster intact")
@allure.severity(allure.severity_level.BLOCKER)
def test_node_files_identical_and_control_plane_ready(lab, cluster, reporter):
    overview = phase_overview(reporter)
    if overview:
        allure.attach(overview, name="phase timings of every test (overview)",
                      attachment_type=allure.attachment_type.SVG)
    problems, after = lab.intact(lab.baseline)
    allure.attach("\n".join(f"{d}  {p}" for p, d in sorted(after.items())), name="sha256 after the run",
                  attachment_type=allure.attachment_type.TEXT)
    assert not problems, "; ".join(problems)
    if cluster.read_only:
        # An existing cluster: this test is the read-only proof; its health is what
        # test_grading.py grades, so a broken lab is not waited on here.
        return
    obs = lab.wait_settled("control plane Ready at the end", clear_backoff=False)
    allure.attach(obs.text().replace("; ", "\n"), name="control plane at the end",
                  attachment_type=allure.attachment_type.TEXT)
