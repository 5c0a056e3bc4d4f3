"""A verdict on a fault (no symptom, no effect, no recovery) is Failed in the report; trouble with
the cluster, Docker, the node or the suite is Broken. Checked in the Allure results a real
allure-pytest run writes, and against reports/categories.json."""
from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from breakfix.errors import (InfrastructureError, NoEffect, NotRecovered, SymptomNotObserved, Verdict,
                             WaitTimeout)

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]
CATEGORIES = json.loads((ROOT / "reports" / "categories.json").read_text())

CASES = {
    "test_symptom": ("SymptomNotObserved('API unavailable', 'readyz answered 200 for 30s')", "failed",
                     "Symptom not observed"),
    "test_no_effect": ("NoEffect('scheduler-command-typo did not take effect', "
                       "'WaitTimeout: kubelet runs the edited manifest not reached within 60s; last seen: x')",
                       "failed", "Fault did not take effect"),
    "test_not_recovered": ("NotRecovered('scheduler-command-typo', 'WaitTimeout: API ready not reached')", "failed",
                           "Did not recover after fix"),
    "test_plain_assert": ("AssertionError('evidence for 2 of 3 symptoms')", "failed", "Suite check failed"),
    "test_infrastructure": ("InfrastructureError('docker exec failed: no such container')", "broken",
                            "Infrastructure broken"),
    "test_wait": ("WaitTimeout('control plane Ready before the fault', 240, 'node NotReady')", "broken",
                  "Timed out waiting (not a verdict)"),
}


def test_verdicts_are_assertion_errors_and_one_line():
    for exc in (SymptomNotObserved("a", "b\nc"), NoEffect("x", "y"), NotRecovered("x", "y")):
        assert isinstance(exc, Verdict) and isinstance(exc, AssertionError)
        assert "\n" not in str(exc)
    assert not isinstance(InfrastructureError("x"), AssertionError)
    assert not isinstance(WaitTimeout("x", 1, "y"), AssertionError)


def _categories(status: str, message: str) -> list[str]:
    """What Allure 2 does with categories.json: every category whose statuses and messageRegex
    (matched against the whole message) fit."""
    return [c["name"] for c in CATEGORIES
            if status in c["matchedStatuses"] and re.fullmatch(c["messageRegex"], message)]


def test_allure_files_verdicts_as_failed_and_the_rest_as_broken(pytester):
    body = "from breakfix.errors import *\n\n" + "\n".join(
        f"def {name}():\n    raise {exc}\n" for name, (exc, _, _) in CASES.items())
    pytester.makepyfile(test_inner=textwrap.dedent(body))
    results = pytester.path / "results"
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", f"--alluredir={results}",
                                      "test_inner.py")
    assert r.ret == 1
    found = {}
    for f in results.glob("*-result.json"):
        res = json.loads(f.read_text())
        found[res["name"]] = (res["status"], res["statusDetails"]["message"])
    assert set(found) == set(CASES)
    for name, (_, status, category) in CASES.items():
        got_status, message = found[name]
        assert got_status == status, (name, got_status, message)
        assert _categories(got_status, message) == [category], (name, message)


def test_a_test_carries_one_phase_picture_one_timings_json_and_plain_parameters(pytester, monkeypatch):
    """AllureReporter's timings are not attached one by one: PhasePicture attaches the picture and
    one JSON of them; a Shown parameter has no quotes; the description is the Markdown given."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_inner=textwrap.dedent('''
        import allure
        from breakfix.catalog import load_catalog
        from breakfix.report import AllureReporter, Shown, describe_fault_test
        from fixtures.reporting import PhasePicture

        def test_phases():
            rep = AllureReporter()
            pic = PhasePicture(rep, "demo")
            describe_fault_test(load_catalog()["scheduler-command-typo"])
            allure.dynamic.parameter("node", Shown("control-plane (breakfix-gw0-control-plane)"))
            for name in ("phase: settle", "settle", "phase: break", "inject->took effect", "phase: symptoms",
                         "inject->symptoms", "phase: fix", "fix->recovered", "phase: verify", "scale->ready"):
                with rep.timed(name, fault="demo"):
                    pass
            pic.attach()
    '''))
    results = pytester.path / "results"
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", f"--alluredir={results}",
                                      "test_inner.py")
    assert r.ret == 0, r.stdout.str()
    [res] = [json.loads(f.read_text()) for f in results.glob("*-result.json")]
    kinds = sorted(a["type"] for a in res["attachments"])
    assert kinds == ["application/json", "image/svg+xml"], res["attachments"]
    [js] = [a for a in res["attachments"] if a["type"] == "application/json"]
    body = json.loads((results / js["source"]).read_text())
    assert [t["name"] for t in body["timings"]][:3] == ["phase: settle", "settle", "phase: break"]
    assert len(body["timings"]) == 10
    params = {p["name"]: p["value"] for p in res["parameters"]}
    assert params["node"] == "control-plane (breakfix-gw0-control-plane)"
    assert params["fault"] == "scheduler-command-typo"
    assert res["description"].startswith("## Fault `scheduler-command-typo`")


class _Lab:
    """The lab a cycle drives (breakfix/runner.py), the wait of PHASE running out."""

    def __init__(self, fails_in: str):
        from breakfix.report import Reporter
        self.reporter, self.fails_in = Reporter(), fails_in

    def t(self, name):
        return 60.0

    def _maybe(self, phase):
        if phase == self.fails_in:
            raise WaitTimeout("a pod Pending", 120, "pod p: PodScheduled=True phase=Running")

    def wait_settled(self, *a, **kw):
        self._maybe("settle")

    def inject(self, fault, register):
        from types import SimpleNamespace

        from breakfix.lab_inject import InjectionContext
        self._maybe("break")
        inj = SimpleNamespace(started=0.0, restored=False, context=InjectionContext())
        register(lambda wait=True: None)
        return inj

    def observe(self, inj):
        self._maybe("symptoms")
        return {}

    def full_window_after_fix(self, fault):
        return False

    def restore(self, inj, wait=True, window=True):
        if not inj.restored:
            inj.restored = True
            self._maybe("fix")

    def wait_recovered(self, inj, window=True):
        pass

    def verify(self, fault, inj):
        self._maybe("verify")

    def confirm_stable(self):
        pass

    def control_plane_ready(self):
        from breakfix.waits import Observation
        return Observation(False, "node n: Ready=False")


@pytest.mark.parametrize("phase,expected", [("symptoms", SymptomNotObserved), ("fix", NotRecovered),
                                            ("verify", NotRecovered), ("settle", WaitTimeout)])
def test_a_wait_that_runs_out_in_a_judging_phase_is_that_verdict(phase, expected):
    from breakfix.catalog import load_catalog
    from breakfix.runner import run_cycle
    fault = load_catalog()["scheduler-command-typo"]
    with pytest.raises(expected) as e:
        run_cycle([_Lab(phase)], fault, lambda undo: None)
    assert type(e.value) is expected
    assert "last seen: pod p: PodScheduled=True phase=Running" in str(e.value)
    if expected is SymptomNotObserved:
        assert str(e.value).startswith("SymptomNotObserved: a pod Pending: not seen within 120s")
