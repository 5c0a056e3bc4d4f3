"""`pytest` alone in the repository root runs the suite as `make conformance` does: the same
collected items (testpaths = suites) and the same report options (breakfix/pytest_options.py)."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADER = "kube-breakfix: `pytest` alone runs like `make conformance`:"


def pytest_run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKFIX_", "PYTEST_"))}
    r = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def items(r) -> list[str]:
    return [ln for ln in r.stdout.splitlines() if "::" in ln]


def makefile_conformance() -> str:
    text = (ROOT / "Makefile").read_text()
    return text[text.index("\nconformance:"):].split("\n\n")[0]


def test_bare_pytest_collects_what_make_conformance_collects():
    recipe = makefile_conformance()
    assert "$(VPY) -m pytest suites --cluster-name=$(CLUSTER)" in recipe
    bare = items(pytest_run("--collect-only", "-q"))
    make = items(pytest_run("suites", "--cluster-name=breakfix", "--collect-only", "-q"))
    assert bare and bare == make
    assert any("test_lab[control-plane-failure]" in i for i in bare)
    assert bare[-1].endswith("test_node_files_identical_and_control_plane_ready")


def test_bare_pytest_writes_the_reports_make_conformance_writes():
    recipe = makefile_conformance()
    cluster = re.search(r"^CLUSTER \?= (\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    header = next(ln for ln in pytest_run("--collect-only").stdout.splitlines() if ln.startswith(HEADER))
    for make_opt, bare_opt in (("--alluredir=$(REPORTS)/allure-results", f"--alluredir={ROOT}/reports/allure-results"),
                               ("--clean-alluredir", "--clean-alluredir"),
                               ("--junitxml=$(REPORTS)/junit.xml", f"--junitxml={ROOT}/reports/junit.xml")):
        assert make_opt in recipe and bare_opt in header.split()
    assert f"--cluster-name={cluster}" in header.split()


def test_other_runs_are_left_alone():
    for args in (["tests/unit/test_labs.py"], ["suites"]):
        assert HEADER not in pytest_run(*args, "--collect-only").stdout
    # an option given on the command line wins over the default
    header = next(ln for ln in pytest_run("--alluredir=/tmp/x", "--collect-only").stdout.splitlines()
                  if ln.startswith(HEADER))
    assert "--alluredir" not in header and "--junitxml" in header


def test_bare_pytest_takes_make_conformances_workers_where_make_does():
    from breakfix.pytest_options import DEFAULT_WORKERS, DIST
    text = (ROOT / "Makefile").read_text()
    assert re.search(r"^WORKERS \?= \$\(if \$\(filter single,\$\(CLUSTER_SHAPE\)\),(\d+),1\)", text, re.M).group(1) \
        == str(DEFAULT_WORKERS)
    assert "$(XDIST)" in makefile_conformance()
    assert re.search(r"^XDIST := .*-n \$\(WORKERS\) --dist (\w+)\)", text, re.M).group(1) == DIST

    def header(*args):
        return next(ln for ln in pytest_run(*args, "--collect-only").stdout.splitlines() if ln.startswith(HEADER))
    assert header().endswith(f" -n {DEFAULT_WORKERS} --dist {DIST}")
    # the bigger shapes and an -n of the user's own: no default workers
    for args in (["--cluster-shape=ha"], ["-n", "2"], ["-n1"], ["--numprocesses=2"]):
        assert " -n " not in header(*args) + " ", args
