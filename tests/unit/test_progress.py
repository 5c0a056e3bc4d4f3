"""The live progress of a run (fixtures/progress.py): a line per phase as it ends with one process,
the test's time on its result line, and the closing table, in one process and under xdist.
The engine is a stand-in Reporter that times phases as Lab.phase does."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from fixtures.progress import load_floors, summary_table

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]

INNER = textwrap.dedent('''
    import pytest
    from breakfix.errors import SymptomNotObserved, InfrastructureError
    from breakfix.report import Reporter

    @pytest.fixture(scope="session")
    def reporter(request):
        rep = Reporter()
        request.config._breakfix_reporter = rep
        return rep

    class F:
        def __init__(self, id, component):
            self.id, self.component = id, component

    @pytest.mark.parametrize("fault", [pytest.param(F("good-fault", "kube-scheduler"), id="good-fault"),
                                       pytest.param(F("quiet-fault", "etcd"), id="quiet-fault"),
                                       pytest.param(F("infra-fault", "kubelet"), id="infra-fault")])
    def test_fault(fault, reporter):
        for phase in ("settle", "break", "symptoms"):
            with reporter.timed(f"phase: {phase}", fault=fault.id):
                pass
            if fault.id == "quiet-fault" and phase == "symptoms":
                raise SymptomNotObserved("pod Pending", "scheduled at once")
            if fault.id == "infra-fault" and phase == "break":
                raise InfrastructureError("docker exec failed")
        for phase in ("fix", "verify"):
            with reporter.timed(f"phase: {phase}", fault=fault.id):
                pass
''')


def _run(pytester, monkeypatch, *args):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_inner=INNER)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "fixtures.progress", "-v", *args,
                                         "test_inner.py")


def test_one_process_prints_each_phase_the_time_and_the_table(pytester, monkeypatch):
    r = _run(pytester, monkeypatch, "-p", "no:xdist")
    out = r.stdout.str()
    assert r.ret == 1, out
    for phase in ("settle", "break", "symptoms", "fix", "verify"):
        assert f"\n    {phase} 0.0 s\n" in out, out
    r.stdout.re_match_lines([r".*test_fault\[good-fault\] PASSED \d+\.\d s.*", r".*test_fault\[quiet-fault\] FAILED \d+\.\d s.*",
                             r".*test_fault\[infra-fault\] BROKEN \d+\.\d s.*"])
    r.stdout.re_match_lines([r".*kube-breakfix: phases \(s\) per test.*",
                             r"test\s+component\s+settle\s+break\s+symptoms\s+fix\s+verify\s+total\s+result\s+x floor",
                             r"-+.*",
                             r"good-fault\s+kube-scheduler\s+0\.0\s+0\.0\s+0\.0\s+0\.0\s+0\.0\s+\d+\.\d\s+passed\s+-",
                             r"quiet-fault\s+etcd\s+0\.0\s+0\.0\s+0\.0\s+-\s+-\s+\d+\.\d\s+failed\s+-",
                             r"infra-fault\s+kubelet\s+0\.0\s+0\.0\s+-\s+-\s+-\s+\d+\.\d\s+broken\s+-"])


def test_under_xdist_the_controller_prints_the_time_and_the_table(pytester, monkeypatch):
    r = _run(pytester, monkeypatch, "-n", "2")
    out = r.stdout.str()
    assert r.ret == 1, out
    assert "    settle 0.0 s" not in out      # phases are printed with one process only
    r.stdout.re_match_lines_random([r"\[gw\d\] .*PASSED \d+\.\d s .*test_fault\[good-fault\]",
                                    r"\[gw\d\] .*FAILED \d+\.\d s .*test_fault\[quiet-fault\]"])
    r.stdout.re_match_lines_random([r"good-fault\s+kube-scheduler(\s+0\.0){5}\s+\d+\.\d\s+passed\s+-",
                                    r"infra-fault\s+kubelet\s+0\.0\s+0\.0\s+-\s+-\s+-\s+\d+\.\d\s+broken\s+-"])


def test_the_table_gives_the_ratio_to_the_floor(tmp_path):
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"faults": [{"id": "a", "floor": {"total": 20.0}}, {"id": "b", "floor": {}}]}))
    floors = load_floors(bench)
    assert floors == {"a": 20.0}
    assert load_floors(tmp_path / "none.json") == {}
    lines = summary_table([{"test": "a", "component": "etcd", "phases": {"break": 10.0, "verify": 20.0},
                            "total": 31.0, "result": "passed"},
                           {"test": "lab-x", "component": "lab", "phases": {}, "total": 5.0, "result": "failed"}],
                          floors)
    assert lines[0].split() == ["test", "component", "break", "verify", "total", "result", "x", "floor"]
    assert lines[2].split() == ["a", "etcd", "10.0", "20.0", "31.0", "passed", "1.50"]
    assert lines[3].split() == ["lab-x", "lab", "-", "-", "5.0", "failed", "-"]
