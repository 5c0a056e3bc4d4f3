"""The verify half on its own, read-only: the grader's checks (every static pod Ready and its
manifest valid, kubelet active, nodes Ready, a test pod schedules, `app` replicas) must all pass.
On an existing cluster (--kubeconfig + --node) this is what grades a learner's fix."""
import allure
import pytest

from breakfix.grading import Grader
from breakfix.grading.render import to_text


@pytest.mark.e2e
@allure.epic("Control plane failures")
@allure.feature("grading")
@allure.story("the cluster grades clean (read-only checks)")
@allure.severity(allure.severity_level.CRITICAL)
def test_cluster_grades_clean(request, catalog, lab):
    replicas = request.config.getoption("lab_replicas")
    grader = Grader(lab.node, lab.kube, lab.node_name, catalog, replicas=replicas, app_name=lab.app_name,
                    namespace=lab.namespace, probe_image=lab.probe_image)
    report = grader.run()  # raises if any node file changed while grading
    allure.attach(to_text(report), name="grade", attachment_type=allure.attachment_type.TEXT)
    allure.attach(report.to_json(), name="grade.json", attachment_type=allure.attachment_type.JSON)
    failed = [f"{r.name}: {r.evidence.strip().splitlines()[0] if r.evidence.strip() else ''}"
              for r in report.failed_checks]
    assert not failed, f"grading failed: {failed}"
