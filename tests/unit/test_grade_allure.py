"""`breakfix check --alluredir`/`lab check`: a GradeReport as Allure results, and executor.json."""
import json

from breakfix.grading.allure import write_allure
from breakfix.grading.results import CheckResult, GradeReport, LikelyFault
from breakfix.report import executor_info


def report(lab=None):
    lf = LikelyFault("controller-manager-kubeconfig-path", "cm kubeconfig", "Fix --kubeconfig\nin the manifest.", [])
    checks = [CheckResult("kube-scheduler", "pod_ready", "pass", "Running 1/1"),
              CheckResult("kube-controller-manager", "pod_ready", "fail", "CrashLoopBackOff\nexit 1",
                          likely_fault=lf),
              CheckResult("app", "app_replicas", "skip", "skipped")]
    return GradeReport(checks, "docker://x", "x-control-plane", {"reachable": True, "detail": "ok"},
                       {"unchanged": True}, verdict="fail", lab=lab)


def results(d):
    return [json.loads(p.read_text()) for p in d.glob("*-result.json")]


def test_one_result_per_check_with_status_evidence_and_remediation(tmp_path):
    lab = {"id": "control-plane-failure", "title": "T", "step": 2, "step_title": "scale to 2", "fault": "f",
           "fixed": "app at 2 Ready replicas"}
    write_allure(report(lab), tmp_path)
    rs = {r["name"]: r for r in results(tmp_path)}
    assert {n: r["status"] for n, r in rs.items()} == {
        "kube-scheduler: pod Ready": "passed", "kube-controller-manager: pod Ready": "failed",
        "app: replicas Ready": "skipped"}
    failed = rs["kube-controller-manager: pod Ready"]
    assert failed["statusDetails"]["message"].startswith("kube-controller-manager: pod Ready: CrashLoopBackOff")
    assert "Fix --kubeconfig\nin the manifest." in failed["description"]
    assert "**Step 2:** scale to 2" in failed["description"]
    assert {"name": "suite", "value": "lab control-plane-failure step 2"} in failed["labels"]
    att = failed["attachments"][0]
    assert (tmp_path / att["source"]).read_text() == "CrashLoopBackOff\nexit 1"
    # the same check of the same step has the same history id across runs (Allure's History tab)
    write_allure(report(lab), tmp_path)
    again = [r for r in results(tmp_path) if r["name"] == failed["name"]]
    assert len(again) == 2 and len({r["historyId"] for r in again}) == 1
    assert json.loads((tmp_path / "executor.json").read_text())["buildName"].startswith("breakfix lab check")


def test_executor_is_the_host_or_the_github_actions_run():
    local = executor_info(env={})
    assert local["type"] == "local" and local["name"]
    gh = executor_info(env={"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "42", "GITHUB_RUN_NUMBER": "7",
                            "GITHUB_WORKFLOW": "conformance", "GITHUB_REPOSITORY": "o/r",
                            "GITHUB_SERVER_URL": "https://github.com"})
    assert gh["buildName"] == "conformance #7"
    assert gh["buildUrl"] == "https://github.com/o/r/actions/runs/42" and gh["type"] == "github"
