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


def _fake_kind(tmp_path: Path, clusters: str) -> Path:
    kind = tmp_path / "kind"
    kind.write_text(f"#!/bin/sh\n[ \"$1 $2\" = 'get clusters' ] && printf '{clusters}' && exit 0\nexit 1\n")
    kind.chmod(0o755)
    return kind


def test_an_existing_kind_cluster_named_by_cluster_name_takes_one_process(tmp_path):
    """`pytest --cluster-name=NAME` where kind lists NAME: no default workers (they would make
    NAME-gw0 ... and leave NAME untouched); a name kind does not list keeps them."""
    from breakfix.pytest_options import DEFAULT_WORKERS
    kind = _fake_kind(tmp_path, "newbie\\nother\\n")

    def header(*args):
        return next(ln for ln in pytest_run(*args, f"--kind-bin={kind}", "--collect-only").stdout.splitlines()
                    if ln.startswith(HEADER))
    assert " -n " not in header("--cluster-name=newbie") + " "
    assert header("--cluster-name=fresh").endswith(f" -n {DEFAULT_WORKERS} --dist loadgroup")


def _config(tmp_path, **opts):
    from types import SimpleNamespace
    o = dict(cluster_name="newbie", kubeconfig=None, node=None, numprocesses=None, collectonly=False,
             list_faults=False, allow_node_writes=False, kind_bin=None)
    o.update(opts)
    return SimpleNamespace(option=SimpleNamespace(**o),
                           invocation_params=SimpleNamespace(args=tuple(f"--{k.replace('_', '-')}={v}"
                                                                        for k, v in opts.items())))


def test_the_header_names_the_cluster_the_run_uses_or_creates(tmp_path, monkeypatch):
    from breakfix.pytest_options import cluster_lines, existing_kind_cluster
    monkeypatch.chdir(tmp_path)
    kind = _fake_kind(tmp_path, "newbie\\n")
    cfg = _config(tmp_path, cluster_name="newbie", kind_bin=str(kind))
    cfg._breakfix_existing = existing_kind_cluster(cfg)
    assert cfg._breakfix_existing == "newbie"
    assert cluster_lines(cfg) == ["kube-breakfix: runs on the existing kind cluster newbie, in one process; it was "
                                  "made outside this run and is left in place"]
    cfg = _config(tmp_path, cluster_name="fresh", kind_bin=str(kind), numprocesses=2)
    cfg._breakfix_existing = existing_kind_cluster(cfg)
    assert cfg._breakfix_existing is None
    assert cluster_lines(cfg) == ["kube-breakfix: creates kind clusters fresh-gw0, fresh-gw1 (one per worker); "
                                  "deleted at the end unless --keep-cluster"]
    cfg = _config(tmp_path, cluster_name="newbie", kind_bin=str(kind), numprocesses=2)
    cfg._breakfix_existing = existing_kind_cluster(cfg)
    assert cluster_lines(cfg)[1].startswith("kube-breakfix: the existing kind cluster newbie is not used: -n")
    cfg = _config(tmp_path, cluster_name="fresh", kind_bin=str(kind))
    cfg._breakfix_existing = None
    assert cluster_lines(cfg) == ["kube-breakfix: creates kind cluster fresh; deleted at the end unless --keep-cluster"]
    cfg = _config(tmp_path, kubeconfig="/tmp/kc", node="docker://x-control-plane")
    cfg._breakfix_existing = None
    assert cluster_lines(cfg)[0].startswith("kube-breakfix: runs on the existing cluster of --kubeconfig=/tmp/kc "
                                            "(node docker://x-control-plane), in one process; it is left in place")
    # a name given by no one (the default) is never looked up
    cfg = _config(tmp_path, kind_bin=str(kind))
    cfg.invocation_params.args = ()
    assert existing_kind_cluster(cfg) is None
