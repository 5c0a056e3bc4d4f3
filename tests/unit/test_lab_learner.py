"""`breakfix lab check` for a learner (the default): what is still wrong in the learner's words, one
line per unmet criterion, and the hints asked for so far; never the catalog's remediation, the
changed line or its baseline. `--reveal` and `--json` show the full grade; `--json` adds each
criterion's verdict, weight, what was read and what was expected, and the step's score. The grades
here are made by hand (a GradeReport as the grader returns it), the rendering is the real one."""
from __future__ import annotations

import argparse
import json

import pytest

from breakfix.catalog import load_catalog
from breakfix.cli.check import _lab_output
from breakfix.grading import CheckResult, GradeReport
from breakfix.grading.diagnosis import Change, Finding
from breakfix.grading.render import to_text
from breakfix.hints import HintState
from breakfix.labs import load_labs
from breakfix.learner import grade_step

LAB = "control-plane-failure"
REMEDIATION = "Fix the --kubeconfig flag in kube-controller-manager.yaml to /etc/kubernetes/controller-manager.conf"


@pytest.fixture(scope="module")
def lab():
    catalog = load_catalog()
    return load_labs(catalog)[LAB], catalog


def report(step_no: int, lab, catalog, fixed: bool = False) -> GradeReport:
    """A grade of step STEP_NO as the grader gives it: broken (the controller manager down, app at 1
    of 2) or fixed."""
    cm = "kube-controller-manager"
    bad = "fail" if not fixed else "pass"
    checks = [
        CheckResult("etcd", "pod_ready", "pass", "etcd-n: ready=True"),
        CheckResult(cm, "manifest", bad, "--kubeconfig=/etc/kubernetes/controller-manager-XXXX.conf: no volumeMount"),
        CheckResult(cm, "pod_ready", bad, "kube-controller-manager-n: ready=False waiting=CrashLoopBackOff\n"
                                          'err="stat /etc/kubernetes/controller-manager-XXXX.conf"'),
        CheckResult("kube-scheduler", "pod-bound", "pass", "pod kube-breakfix-probes/p bound to n after 1.0s"),
        CheckResult("pod-start", "pod-started", "pass", "container running after 2.0s"),
        CheckResult(cm, "deployment-replicaset", bad, "no ReplicaSet for deployment probe after 20s"),
        CheckResult("app", "app_replicas", bad,
                    "deployment default/app: spec.replicas=2 replicas=1 ready=1 available=1 (want 2 Ready)"
                    if not fixed else "deployment default/app: spec.replicas=2 ready=2",
                    facts={} if fixed else {"ready": 1}),
    ]
    rep = GradeReport(checks, "docker://n", "n", {"reachable": True, "detail": "ok"},
                      {"paths": ["/etc/kubernetes"], "files": 3, "unchanged": True, "changed": []}, 1.0,
                      verdict="pass" if fixed else "fail")
    if not fixed:
        rep.diagnosis = [Finding(cm, changed=[Change("/etc/kubernetes/manifests/kube-controller-manager.yaml",
                                                     "--kubeconfig", "/etc/kubernetes/controller-manager-XXXX.conf",
                                                     "/etc/kubernetes/controller-manager.conf", "backup")],
                                 proof=['err="stat /etc/kubernetes/controller-manager-XXXX.conf"'],
                                 catalog=catalog["controller-manager-kubeconfig-path"])]
    step = lab.step(step_no)
    rep.lab = {"id": lab.id, "title": lab.title, "step": step.number, "step_title": step.title,
               "fault": step.fault.id, "fixed": "app at 2 Ready replicas"}
    return rep


def args(**kw) -> argparse.Namespace:
    base = dict(json=False, reveal=False, cluster="demo", node=None, kubeconfig=None, sudo=False)
    return argparse.Namespace(**{**base, **kw})


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def test_the_learner_reads_what_is_wrong_and_the_hints_not_the_answer(lab, cache):
    lab_def, catalog = lab
    step = lab_def.step(2)
    HintState(LAB, 2, "kind-demo").give(1)
    text = _lab_output(report(2, lab_def, catalog), args(), (lab_def, step, catalog))
    print(text)
    lines = text.splitlines()
    assert lines[0] == f"lab {LAB} step 2: Scaling the app to 2 does nothing"
    assert lines[1] == "not fixed yet, still wrong:"
    assert "  - app has 1 of 2 Ready replicas" in lines
    assert ("  - the kube-controller-manager pod in kube-system is not Ready; a new Deployment gets no "
            "ReplicaSet and no pods: nothing acts on Deployments; the kubelet cannot run "
            "kube-controller-manager as it is declared") in lines
    assert "hints so far:" in lines and f"  1. {step.hints[0]}" in lines
    assert f"a hint (1 of 3 given): breakfix lab hint {LAB} --step 2 --cluster demo" in lines
    assert lines[-2] == "score: 17% (1/6): the app's replicas unmet, a new pod met, the rest of the cluster unmet"
    assert lines[-1] == "verdict: FAIL (exit 1)"
    # nothing that gives the fix away
    for secret in ("XXXX", "controller-manager.conf", "baseline", "changed", "catalog", "remediation",
                   catalog["controller-manager-kubeconfig-path"].remediation.split("\n")[0], "--kubeconfig"):
        assert secret not in text, secret


def test_the_labs_own_words_replace_the_made_up_line(lab, cache):
    lab_def, catalog = lab
    rep = report(1, lab_def, catalog, fixed=True)
    rep.checks[3].status = "fail"   # pod-bound
    rep.verdict = "fail"
    text = _lab_output(rep, args(), (lab_def, lab_def.step(1), catalog))
    assert "  - pods in default stay Pending: nothing schedules them" in text.splitlines()
    assert "hints so far" not in text and "a hint (0 of 3 given)" in text


def test_fixed(lab, cache):
    lab_def, catalog = lab
    text = _lab_output(report(2, lab_def, catalog, fixed=True), args(), (lab_def, lab_def.step(2), catalog))
    assert text.splitlines()[1] == "fixed: every criterion is met"
    assert "score: 100% (6/6)" in text and text.endswith("verdict: PASS (exit 0)") and "a hint" not in text


def test_reveal_is_the_full_grade_and_the_criteria(lab, cache):
    lab_def, catalog = lab
    rep = report(2, lab_def, catalog)
    text = _lab_output(rep, args(reveal=True), (lab_def, lab_def.step(2), catalog))
    assert text.startswith(to_text(rep))
    assert "changed: kube-controller-manager: --kubeconfig=/etc/kubernetes/controller-manager-XXXX.conf" in text
    assert "catalog: controller-manager-kubeconfig-path" in text
    assert "lab step criteria: score 17% (1/6)" in text
    assert "  UNMET      app_replicas [3]: expected app asks for and has 2 Ready replicas" in text


def test_json_score_criteria_read_and_expected(lab, cache):
    lab_def, catalog = lab
    HintState(LAB, 2, "kind-demo").give(2)
    d = json.loads(_lab_output(report(2, lab_def, catalog), args(json=True), (lab_def, lab_def.step(2), catalog)))
    assert d["verdict"] == "fail" and d["diagnosis"][0]["catalog"]["id"] == "controller-manager-kubeconfig-path"
    assert d["lab"]["score"] == {"points": 1, "total": 6, "percent": 16.7} and d["lab"]["score_percent"] == 16.7
    crit = {c["id"]: c for c in d["lab"]["criteria"]}
    assert [c["id"] for c in d["lab"]["criteria"]] == ["app_replicas", "new_pod_schedules", "control_plane"]
    assert {k: (c["verdict"], c["weight"]) for k, c in crit.items()} == {
        "app_replicas": ("unmet", 3), "new_pod_schedules": ("met", 1), "control_plane": ("unmet", 2)}
    assert crit["app_replicas"]["expected"] == "app asks for and has 2 Ready replicas"
    assert "ready=1" in crit["app_replicas"]["read"] and crit["app_replicas"]["learner"] == "app has 1 of 2 Ready replicas"
    assert [c["id"] for c in crit["new_pod_schedules"]["checks"]] == ["kube-scheduler/pod-bound", "pod-start/pod-started"]
    assert crit["new_pod_schedules"]["learner"] is None
    cp = {c["id"]: c for c in crit["control_plane"]["checks"]}
    assert cp["kube-controller-manager/pod_ready"] == {
        "id": "kube-controller-manager/pod_ready", "status": "fail", "expected": "kube-controller-manager: pod Ready",
        "read": rep_evidence(d, "kube-controller-manager/pod_ready")}
    assert d["lab"]["hints_given"] == [{"number": 2, "text": lab_def.step(2).hints[1]}] and d["lab"]["hints_total"] == 3


def rep_evidence(d: dict, cid: str) -> str:
    return next(c["evidence"] for c in d["checks"] if c["id"] == cid)


def test_api_down_new_pod_criterion_unmet_without_its_checks(lab):
    lab_def, _ = lab
    step = lab_def.step(1)
    rep = GradeReport([CheckResult("kube-apiserver", "api-readyz", "fail", "API server not reachable"),
                       CheckResult("app", "app_replicas", "fail", "API server not reachable: refused",
                                   facts={"api_reachable": False})],
                      "docker://n", "n", {"reachable": False, "detail": "refused"},
                      {"unchanged": True}, verdict="fail")
    g = {c["id"]: c for c in grade_step(rep, step, "app")["criteria"]}
    assert g["new_pod_schedules"]["verdict"] == "unmet" and g["new_pod_schedules"]["checks"] == []
    assert g["app_replicas"]["learner"] == "kubectl gets no answer, so app cannot be seen"
    assert g["control_plane"]["learner"] == "kubectl gets no answer from the API server"
    rep.verdict = "could-not-grade"
    rep.checks[0].status = "error"
    rep.checks[1].status = "error"
    g = grade_step(rep, step, "app")
    assert [c["verdict"] for c in g["criteria"]] == ["not graded"] * 3 and g["score"]["points"] == 0


def test_lab_check_takes_the_grading_options_cmd_check_reads():
    from breakfix.cli import build_parser
    a = build_parser().parse_args(["lab", "check", LAB, "--step", "1", "--cluster", "c"])
    assert (a.strict, a.reveal, a.json, a.force) == (False, False, False, False)
    assert build_parser().parse_args(["lab", "check", LAB, "--step", "1", "--strict"]).strict is True
