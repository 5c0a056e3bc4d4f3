"""Bad input: one line, an exit status, and nothing attempted on a cluster.

Every row of TABLE runs the real entry point as a subprocess in the repository root, like a user
would: `python -m pytest ...` (the suite: refused at configure time with one `Exit: kube-breakfix: ...` line
and status 2) or `python -m breakfix.cli ...` (one
`breakfix: error: ...` line on stderr, status 2). Rows that name a cluster give a well-formed one
(a kubeconfig for 127.0.0.1:9 and a docker:// node), so the bad input is the only reason to stop.
`docker`, `kind`, `kubectl` and `ssh` are fakes first on PATH (and `--kind-bin` / BREAKFIX_KIND_BIN
point at the fake kind) that log every call: "nothing attempted" means that log stays empty.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .samples import DEMO_FAULT

ROOT = Path(__file__).resolve().parents[2]
PYTEST_USAGE_ERROR = 2     # fixtures/inputs.refuse: the same status as the breakfix command line
CLI_ERROR = 2              # breakfix.cli.EXIT_ERROR

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: 'https://127.0.0.1:9', insecure-skip-tls-verify: true}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
users:
- name: u
  user: {token: t}
"""
NOT_YAML = "apiVersion: v1\nclusters: [unclosed\n  users: {\n"

FAULT = DEMO_FAULT.lstrip("\n")
KUBELET_FAULT = """id: demo-fault
component: kubelet
title: demo
target: {kind: file, path: /etc/kubernetes/kubelet.conf, unit: kubelet}
edits:
  - {op: set_url_port, path: 'clusters[0].cluster.server', value: 6553}
symptoms:
  - {kind: node_not_ready}
fix: put it back
remediation: read the file
"""
# the bad fault files: name -> content (the file is faults/demo-fault.yaml)
BAD_FAULTS = {
    "not-utf8": b"\xff\xfei\x00d\x00:\x00 \x00d\x00",
    "component-vs-manifest": FAULT.replace("path: kube-scheduler.yaml", "path: etcd.yaml"),
    "kubelet-manifest": FAULT.replace("component: kube-scheduler", "component: kubelet"),
    "url-port-not-int": KUBELET_FAULT.replace("value: 6553", "value: abc"),
    "flag-not-string": FAULT.replace("{op: set_command, value: nope}", "{op: set_flag, flag: 5, value: x}"),
    "hold-negative": FAULT.replace("{kind: pod_not_scheduled}", "{kind: pod_not_scheduled, hold: -5}"),
    "verify-scale-0": FAULT + "verify: {scale: 0}\n",
    "file-without-unit": KUBELET_FAULT.replace(", unit: kubelet", ""),
    "empty": "",
    "list": "- id: demo-fault\n- component: kube-scheduler\n",
}
FIELD_ERRORS = {
    "not-utf8": "demo-fault.yaml: field '(file)': not UTF-8 text",
    "component-vs-manifest": "demo-fault.yaml: field 'target.path': must be kube-scheduler.yaml",
    "kubelet-manifest": "demo-fault.yaml: field 'target.kind': component kubelet has no static pod manifest",
    "url-port-not-int": "demo-fault.yaml: field 'edits[0].value': must be an integer 1-65535, got str 'abc'",
    "flag-not-string": "demo-fault.yaml: field 'edits[0].flag': must be a string starting with '-'",
    "hold-negative": "demo-fault.yaml: field 'symptoms[0].hold': must be a number of seconds >= 5",
    "verify-scale-0": "demo-fault.yaml: field 'verify.scale': must be an integer >= 1",
    "file-without-unit": "demo-fault.yaml: field 'target.unit': give exactly one of unit (a systemd unit to restart) "
                         "and static_pod (a static pod to restart)",
    "empty": "demo-fault.yaml: field '(document)': must be a mapping of fault fields",
    "list": "demo-fault.yaml: field '(document)': must be a mapping of fault fields (id, component, ...), got a list",
}
TARGET = ["--kubeconfig", "{tmp}/kc", "--node", "docker://breakfix-fake-node"]
LAB = """id: demo-lab
title: demo
steps:
  - {title: one, fault: scheduler-command-typo, fixed: {app_replicas: 1}}
"""
# the bad lab files: name -> (content, the one line's stable part); the file is labs/demo-lab.yaml
BAD_LABS = {
    "unknown-fault": (LAB.replace("scheduler-command-typo", "no-such-fault"),
                      "demo-lab.yaml: field 'steps[0].fault': unknown fault 'no-such-fault'"),
    "replicas-string": (LAB.replace("app_replicas: 1", "app_replicas: one"),
                        "demo-lab.yaml: field 'steps[0].fixed.app_replicas': must be an integer"),
    "unknown-field": (LAB + "colour: red\n", "demo-lab.yaml: field 'colour': unknown field"),
}


@dataclass
class Row:
    id: str
    runner: str                      # "pytest" | "cli"
    argv: list[str]                  # {tmp} is the test's directory
    expect: str                      # a stable part of the one line
    env: dict[str, str] = field(default_factory=dict)
    fault: str | None = None         # a BAD_FAULTS key: written to {tmp}/faults/demo-fault.yaml
    lab: str | None = None           # a BAD_LABS key: written to {tmp}/labs/demo-lab.yaml

    @property
    def status(self) -> int:
        return PYTEST_USAGE_ERROR if self.runner == "pytest" else CLI_ERROR


def P(id, argv, expect, **kw) -> Row:
    return Row(id, "pytest", argv, expect, **kw)


def C(id, argv, expect, **kw) -> Row:
    return Row(id, "cli", argv, expect, **kw)


TABLE = [
    # --- the suite (pytest): timeouts ---------------------------------------------------------
    P("env-scale-abc", [], "BREAKFIX_TIMEOUT_SCALE='abc': must be a positive finite number",
      env={"BREAKFIX_TIMEOUT_SCALE": "abc"}),
    P("env-symptom-abc", [], "BREAKFIX_TIMEOUT_SYMPTOM='abc': must be a positive finite number",
      env={"BREAKFIX_TIMEOUT_SYMPTOM": "abc"}),
    P("env-symptom-negative", [], "BREAKFIX_TIMEOUT_SYMPTOM='-3': must be a positive finite number",
      env={"BREAKFIX_TIMEOUT_SYMPTOM": "-3"}),
    P("env-hold-below-floor", [], "BREAKFIX_TIMEOUT_HOLD='1': must be at least 5 seconds",
      env={"BREAKFIX_TIMEOUT_HOLD": "1"}),
    P("env-unknown-name", [], "unknown variable BREAKFIX_TIMEOUT_NOPE (known: BREAKFIX_TIMEOUT_SCALE, "
                              "BREAKFIX_TIMEOUT_SYMPTOM,", env={"BREAKFIX_TIMEOUT_NOPE": "5"}),
    P("scale-0", ["--timeout-scale", "0"], "--timeout-scale='0': must be a positive finite number"),
    P("scale-negative", ["--timeout-scale", "-1"], "--timeout-scale='-1': must be a positive finite number"),
    P("scale-nan", ["--timeout-scale", "nan"], "--timeout-scale='nan': must be a positive finite number"),
    P("scale-inf", ["--timeout-scale", "inf"], "--timeout-scale='inf': must be a positive finite number"),
    P("scale-abc", ["--timeout-scale=abc"], "--timeout-scale='abc': must be a positive finite number"),
    P("shard-zero", ["--shard=0/2"], "--shard='0/2': need 1 <= I <= N"),
    P("suite-wait-lock-negative", ["--wait-lock=-1"], "--wait-lock='-1': must be a number of seconds, 0 or more"),
    P("suite-wait-lock-words", ["--wait-lock", "soon"], "--wait-lock='soon': must be a number of seconds, 0 or more"),
    P("shard-words", ["--shard=first"], "--shard='first': expected I/N, e.g. 2/3"),
    # --- the suite: selection, catalog, cluster ------------------------------------------------
    P("unknown-fault", ["--fault", "nope"], "unknown fault 'nope'; known: apiserver-admission-plugin-removed"),
    P("unknown-component", ["--component", "nope"], "unknown component 'nope'; known: etcd, kube-apiserver"),
    P("faults-dir-missing", ["--faults-dir", "/does/not/exist"],
      "/does/not/exist: field '(directory)': fault catalog directory not found"),
    P("node-without-kubeconfig", ["--node", "docker://breakfix-fake-node"],
      "existing-cluster mode needs both --kubeconfig PATH and --node HOSTSPEC (got only --node)"),
    P("kubeconfig-missing", ["--kubeconfig", "/nonexistent", "--node", "docker://breakfix-fake-node"],
      "--kubeconfig /nonexistent not found"),
    P("kubeconfig-not-yaml", ["--kubeconfig", "{tmp}/notyaml", "--node", "docker://breakfix-fake-node"],
      "notyaml: not valid YAML at line"),
    P("lab-replicas-negative", ["--lab-replicas=-1"], "--lab-replicas=-1: must be 0 or more"),
    P("fault-file-not-utf8", ["--faults-dir", "{tmp}/faults"], FIELD_ERRORS["not-utf8"], fault="not-utf8"),
    P("fault-file-url-port-not-int", ["--faults-dir", "{tmp}/faults"], FIELD_ERRORS["url-port-not-int"],
      fault="url-port-not-int"),
    P("fault-file-verify-scale-0", ["--faults-dir", "{tmp}/faults"], FIELD_ERRORS["verify-scale-0"],
      fault="verify-scale-0"),
    # --- the breakfix CLI ----------------------------------------------------------------------
    C("break-unknown-fault", ["break", "nope", *TARGET], "unknown fault 'nope'; known: apiserver-admission-plugin-removed"),
    C("check-kubeconfig-missing", ["check", "--kubeconfig", "/nonexistent", "--node", "docker://breakfix-fake-node"],
      "--kubeconfig /nonexistent not found"),
    C("check-kubeconfig-not-yaml", ["check", "--kubeconfig", "{tmp}/notyaml", "--node", "docker://breakfix-fake-node"],
      "notyaml: not valid YAML at line"),
    C("break-kubeconfig-not-yaml", ["break", "scheduler-command-typo", "--kubeconfig", "{tmp}/notyaml", "--node",
                                    "docker://breakfix-fake-node"], "not valid YAML at line"),
    C("restore-kubeconfig-a-directory", ["restore", "--kubeconfig", "{tmp}", "--node", "docker://breakfix-fake-node"],
      "--kubeconfig {tmp}: not a file"),
    C("probe-timeout-inf", ["check", "--probe-timeout", "inf", *TARGET],
      "argument --probe-timeout: 'inf' is not a positive finite number of seconds"),
    C("probe-timeout-nan", ["check", "--probe-timeout", "nan", *TARGET],
      "argument --probe-timeout: 'nan' is not a positive finite number of seconds"),
    C("probe-timeout-0", ["check", "--probe-timeout", "0", *TARGET],
      "argument --probe-timeout: '0' is not a positive finite number of seconds"),
    C("probe-timeout-negative", ["check", "--probe-timeout", "-5", *TARGET],
      "argument --probe-timeout: '-5' is not a positive finite number of seconds"),
    C("replicas-negative", ["check", "--replicas", "-1", *TARGET], "--replicas must be 0 or more"),
    C("wait-lock-negative", ["break", "scheduler-command-typo", "--wait-lock", "-1", *TARGET],
      "argument --wait-lock: '-1' is not a number of seconds (0 or more)"),
    C("wait-lock-words", ["restore", "--wait-lock", "soon", *TARGET],
      "argument --wait-lock: 'soon' is not a number of seconds (0 or more)"),
    C("check-wait-lock-inf", ["check", "--wait-lock=inf", *TARGET],
      "argument --wait-lock: 'inf' is not a number of seconds (0 or more)"),
    C("junit-is-a-directory", ["check", "--junit", "{tmp}", *TARGET], "--junit {tmp}: is a directory"),
    C("junit-directory-missing", ["check", "--junit", "{tmp}/missing/grade.xml", *TARGET],
      "--junit {tmp}/missing/grade.xml: directory {tmp}/missing does not exist"),
    C("cli-env-symptom-abc", ["check", *TARGET], "BREAKFIX_TIMEOUT_SYMPTOM='abc': must be a positive finite number",
      env={"BREAKFIX_TIMEOUT_SYMPTOM": "abc"}),
    C("cli-env-unknown-name", ["restore", *TARGET], "unknown variable BREAKFIX_TIMEOUT_NOPE",
      env={"BREAKFIX_TIMEOUT_NOPE": "1"}),
    # --- labs ----------------------------------------------------------------------------------
    P("unknown-lab", ["--lab", "nope"], "unknown lab 'nope'; known: api-server-and-etcd"),
    *[P(f"lab-file-{name}", ["--labs-dir", "{tmp}/labs"], BAD_LABS[name][1], lab=name) for name in BAD_LABS],
    *[C(f"lab-check-file-{name}", ["lab", "check", "demo-lab", "--step", "1", "--labs-dir", "{tmp}/labs", *TARGET],
        BAD_LABS[name][1], lab=name) for name in BAD_LABS],
    C("lab-setup-unknown-lab", ["lab", "setup", "nope", "--step", "1", *TARGET], "unknown lab 'nope'"),
    C("lab-check-step-0", ["lab", "check", "control-plane-failure", "--step", "0", *TARGET],
      "lab control-plane-failure has steps 1..3, not 0"),
    C("lab-check-no-step", ["lab", "check", "control-plane-failure", *TARGET],
      "the following arguments are required: --step"),
    C("lab-reset-unknown-lab", ["lab", "reset", "nope", *TARGET], "unknown lab 'nope'"),
    C("lab-hint-unknown-lab", ["lab", "hint", "nope", "--step", "1"], "unknown lab 'nope'"),
    C("lab-hint-step-4", ["lab", "hint", "control-plane-failure", "--step", "4"],
      "lab control-plane-failure has steps 1..3, not 4"),
    C("lab-export-unknown-lab", ["lab", "export", "nope", "--format", "killercoda", "{tmp}/scenario"],
      "unknown lab 'nope'"),
    C("lab-export-dir-not-empty", ["lab", "export", "control-plane-failure", "--format", "killercoda", "{tmp}"],
      "{tmp}: exists and is not empty"),
    C("lab-export-unknown-format", ["lab", "export", "control-plane-failure", "--format", "zip", "{tmp}/scenario"],
      "--format zip: unknown format (known: killercoda)"),
    C("lab-hint-number-0", ["lab", "hint", "control-plane-failure", "--step", "1", "--number", "0"],
      "lab control-plane-failure step 1 has hints 1..3, not 0"),
    C("check-alluredir-a-file", ["check", "--alluredir", "{tmp}/kc", *TARGET], "--alluredir {tmp}/kc: not a directory"),
    # --- fault files, given to `breakfix break` with a well-formed cluster target --------------
    *[C(f"break-fault-file-{name}", ["break", "demo-fault", "--faults-dir", "{tmp}/faults", *TARGET],
        FIELD_ERRORS[name], fault=name) for name in BAD_FAULTS],
]


FAKE_TOOL = """#!/bin/sh
echo "$(basename "$0") $*" >> {log}
echo "fake $(basename "$0"): not available in this test" >&2
exit 97
"""


@pytest.fixture
def sandbox(tmp_path):
    """(tmp dir, environment with the fakes first on PATH, the fakes' call log)."""
    fakes, log = tmp_path / "fakebin", tmp_path / "fake-calls.log"
    fakes.mkdir()
    for tool in ("docker", "kind", "kubectl", "ssh"):
        (fakes / tool).write_text(FAKE_TOOL.format(log=log))
        (fakes / tool).chmod(0o755)
    (tmp_path / "kc").write_text(KUBECONFIG)
    (tmp_path / "notyaml").write_text(NOT_YAML)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKFIX_", "PYTEST_"))}
    env.update(PATH=f"{fakes}:{env.get('PATH', '/usr/bin:/bin')}", BREAKFIX_KIND_BIN=str(fakes / "kind"),
               PYTEST_ADDOPTS=f"--kind-bin={fakes / 'kind'}")
    return tmp_path, env, log


def run(row: Row, tmp: Path, env: dict) -> subprocess.CompletedProcess:
    module = ["-m", "pytest"] if row.runner == "pytest" else ["-m", "breakfix.cli"]
    argv = [a.replace("{tmp}", str(tmp)) for a in row.argv]
    return subprocess.run([sys.executable, *module, *argv], cwd=ROOT, env={**env, **row.env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("row", TABLE, ids=[r.id for r in TABLE])
def test_bad_input_one_line_and_nothing_attempted(sandbox, row):
    tmp, env, log = sandbox
    if row.fault:
        (tmp / "faults").mkdir()
        content = BAD_FAULTS[row.fault]
        p = tmp / "faults" / "demo-fault.yaml"
        p.write_bytes(content) if isinstance(content, bytes) else p.write_text(content)
    if row.lab:
        (tmp / "labs").mkdir()
        (tmp / "labs" / "demo-lab.yaml").write_text(BAD_LABS[row.lab][0])
    r = run(row, tmp, env)
    out = r.stdout + r.stderr
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert r.returncode == row.status, out
    assert "Traceback" not in out and len(lines) == 1, out
    if row.runner == "pytest":
        assert lines[0].startswith("Exit: kube-breakfix: "), out
    else:
        assert r.stdout == "" and lines[0].startswith("breakfix: error: "), out
    assert row.expect.replace("{tmp}", str(tmp)) in lines[0]
    assert not log.exists(), f"attempted: {log.read_text()}"


def test_the_table_is_big_enough():
    assert len(TABLE) >= 20 and len({r.id for r in TABLE}) == len(TABLE)


# --- an option's value after a space (`--kubeconfig PATH`) ------------------------------------
def collect(env: dict, *args: str, quiet: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", *(["-q"] if quiet else []), *args],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def node_ids(r: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in r.stdout.splitlines() if "::" in ln]


def test_an_option_value_after_a_space_keeps_the_rootdir(sandbox):
    tmp, env, _ = sandbox     # tmp is outside the repository: pytest used to take it for a test path
    baseline = node_ids(collect(env))
    assert baseline and all(i.startswith("suites/") for i in baseline)
    spaced = ["--kubeconfig", f"{tmp}/kc", "--node", "docker://x"]
    assert node_ids(collect(env, *spaced)) == baseline
    header = collect(env, *spaced, quiet=False).stdout
    assert f"rootdir: {ROOT}\n" in header and "configfile: pyproject.toml" in header


def test_faults_dir_after_a_space_is_recognized(sandbox):
    tmp, env, _ = sandbox
    (tmp / "faults").mkdir()
    (tmp / "faults" / "demo-fault.yaml").write_text(FAULT)
    ids = node_ids(collect(env, "--faults-dir", f"{tmp}/faults"))
    assert "suites/test_faults.py::test_fault[demo-fault]" in ids
    assert [i for i in ids if "test_fault[" in i] == ["suites/test_faults.py::test_fault[demo-fault]"]


# --- a kind cluster made by hand (--cluster-name=NAME): the decision, with a fake kind ---------
class FakeKind:
    def __init__(self, clusters=("other",), kubeconfig="apiVersion: v1\nclusters: []\n", fail_get=False,
                 missing=False):
        self.clusters, self.kubeconfig, self.fail_get, self.missing = clusters, kubeconfig, fail_get, missing
        self.calls: list[list[str]] = []

    def __call__(self, argv, **kw):
        self.calls.append(argv[1:])
        if self.missing:
            raise FileNotFoundError(2, "No such file or directory", argv[0])
        if argv[1:3] == ["get", "clusters"]:
            return subprocess.CompletedProcess(argv, 0, "\n".join(self.clusters) + "\n", "")
        if argv[1:3] == ["get", "kubeconfig"]:
            if self.fail_get:
                return subprocess.CompletedProcess(argv, 1, "", "ERROR: could not locate any control plane nodes\n")
            return subprocess.CompletedProcess(argv, 0, self.kubeconfig, "")
        raise AssertionError(f"unexpected kind call {argv}")


def test_a_cluster_of_ours_or_none_is_not_adopted(tmp_path):
    from fixtures.cluster import adopt_existing_cluster
    kc = tmp_path / ".pytest-kind" / "lab" / "kubeconfig"
    fake = FakeKind(clusters=["other"])
    assert adopt_existing_cluster("lab", "kind", kc, run=fake) is False      # kind will create it: ours
    assert fake.calls == [["get", "clusters"]] and not kc.exists()
    kc.parent.mkdir(parents=True)
    kc.write_text("apiVersion: v1\n")
    fake = FakeKind(clusters=["lab"])
    assert adopt_existing_cluster("lab", "kind", kc, run=fake) is False      # our kubeconfig: ours (kept)
    assert fake.calls == []


@pytest.mark.parametrize("touched", [False, True], ids=["no-kubeconfig", "empty-kubeconfig"])
def test_a_hand_made_cluster_is_adopted_with_its_kubeconfig(tmp_path, touched):
    from fixtures.cluster import adopt_existing_cluster
    kc = tmp_path / ".pytest-kind" / "lab" / "kubeconfig"
    if touched:   # what pytest-kind-ng's create() leaves behind: an empty file
        kc.parent.mkdir(parents=True)
        kc.touch()
    fake = FakeKind(clusters=["other", "lab"], kubeconfig="apiVersion: v1\nclusters: [{name: kind-lab}]\n")
    assert adopt_existing_cluster("lab", "kind", kc, run=fake) is True
    assert fake.calls == [["get", "clusters"], ["get", "kubeconfig", "--name", "lab"]]
    assert kc.read_text() == fake.kubeconfig and kc.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("fake,message", [
    (FakeKind(clusters=["lab"], fail_get=True),
     "kind cluster lab exists but `kind get kubeconfig --name lab` failed: ERROR: could not locate"),
    (FakeKind(clusters=["lab"], kubeconfig=""), "kind cluster lab exists but `kind get kubeconfig --name lab` failed"),
    (FakeKind(missing=True), "kind get clusters: [Errno 2] No such file or directory"),
])
def test_adopting_fails_with_one_line(tmp_path, fake, message):
    from breakfix.errors import InfrastructureError
    from fixtures.cluster import adopt_existing_cluster
    with pytest.raises(InfrastructureError) as e:
        adopt_existing_cluster("lab", "kind", tmp_path / "kubeconfig", run=fake)
    assert message in str(e.value) and "\n" not in str(e.value)


# --- kind create: its own error in the one line; the Docker port race retried once ----------------
class FakeCreate:
    def __init__(self, results):
        self.results, self.calls = list(results), []

    def __call__(self, argv, **kw):
        self.calls.append(argv[1:3])
        if argv[1:3] == ["get", "clusters"]:
            return subprocess.CompletedProcess(argv, 0, "other\n", "")
        if argv[1:3] == ["delete", "cluster"]:
            return subprocess.CompletedProcess(argv, 0, "", "")
        rc, err = self.results.pop(0)
        return subprocess.CompletedProcess(argv, rc, "", err)


RACE = ("ERROR: failed to create cluster: command \"docker start x-control-plane2\" failed with error: exit status 1\n"
        "Command Output: Error response from daemon: driver failed programming external connectivity on endpoint "
        "x-control-plane2: Bind for 127.0.0.1:35069 failed: port is already allocated\n")


def test_kind_create_port_race_is_retried_once(tmp_path):
    from fixtures.cluster import create_kind_cluster
    said = []
    fake = FakeCreate([(1, RACE), (0, "")])
    assert create_kind_cluster("x", "kind", tmp_path / "kc", "img", None, run=fake, log=said.append,
                               prepare=lambda log: None) == 2
    assert fake.calls == [["get", "clusters"], ["create", "cluster"], ["delete", "cluster"], ["create", "cluster"]]
    assert len(said) == 1 and "port is already allocated" in said[0]


@pytest.mark.parametrize("results", [[(1, RACE), (1, RACE)], [(1, "ERROR: failed to create cluster: node(s) already exist\n")]],
                         ids=["race-twice", "other-error"])
def test_kind_create_failure_is_one_line_with_kinds_reason(tmp_path, results):
    from breakfix.errors import InfrastructureError
    from fixtures.cluster import create_kind_cluster
    fake = FakeCreate(results)
    with pytest.raises(InfrastructureError) as e:
        create_kind_cluster("x", "kind", tmp_path / "kc", "img", None, run=fake, log=lambda m: None,
                            prepare=lambda log: None)
    msg = str(e.value)
    assert "\n" not in msg and "kind create cluster x failed (exit 1): ERROR:" in msg
    assert fake.calls[-1] == ["delete", "cluster"]      # nothing half-made is left


def test_an_existing_cluster_is_not_created_again(tmp_path):
    from fixtures.cluster import create_kind_cluster
    fake = FakeCreate([])
    assert create_kind_cluster("other", "kind", tmp_path / "kc", None, None, run=fake) == 0
    assert fake.calls == [["get", "clusters"]]


def test_inotify_limits_are_raised_never_lowered(tmp_path):
    from fixtures.cluster import ensure_inotify_limits
    low, high, gone = tmp_path / "max_user_instances", tmp_path / "max_user_watches", tmp_path / "nope" / "x"
    low.write_text("128\n")
    high.write_text("999999\n")
    said = []
    assert ensure_inotify_limits({str(low): 512, str(high): 524288, str(gone): 1}, log=said.append) == \
        ["max_user_instances 128 -> 512"]
    assert low.read_text() == "512\n" and high.read_text() == "999999\n"
    assert len(said) == 2 and "could not raise" in said[0] and "raised" in said[1]
