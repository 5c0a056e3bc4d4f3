"""Unit tests of the grader's pure parts: no cluster, no node."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from breakfix import cli
from breakfix.catalog import load_catalog
from breakfix.edits import apply_edits
from breakfix.grading import (WEIGHTS, CheckResult, GradeReport, LikelyFault, compare_checksums, host_path_for,
                            manifest_problems, needed_paths, score)
from breakfix.grading.render import to_junit, to_text

from .samples import KCM

NODE_FILES = {"/etc/ssl/certs", "/etc/kubernetes/pki", "/etc/kubernetes/pki/ca.crt",
              "/etc/kubernetes/pki/front-proxy-ca.crt", "/etc/kubernetes/controller-manager.conf"}
IMAGES = {"registry.k8s.io/kube-controller-manager:v1.34.4"}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def kcm(edits=None) -> dict:
    doc = yaml.safe_load(KCM)
    return apply_edits(doc, edits) if edits else doc


def problems(doc, component="kube-controller-manager", files=NODE_FILES):
    return manifest_problems(doc, component, files.__contains__, IMAGES.__contains__)


# --- path through volumeMounts ---------------------------------------------------------------
def test_path_maps_through_the_longest_mount_to_the_host_path():
    c = kcm()["spec"]["containers"][0]
    vols = {v["name"]: v for v in kcm()["spec"]["volumes"]}
    hp = host_path_for("/etc/kubernetes/pki/ca.crt", c["volumeMounts"], vols)
    assert (hp.host, hp.volume, hp.mount_path) == ("/etc/kubernetes/pki/ca.crt", "k8s-certs", "/etc/kubernetes/pki")
    hp = host_path_for("/etc/kubernetes/controller-manager.conf", c["volumeMounts"], vols)
    assert hp.host == "/etc/kubernetes/controller-manager.conf" and hp.volume == "kubeconfig"


def test_path_maps_to_a_different_host_directory():
    mounts = [{"mountPath": "/etc/kubernetes/pki", "name": "certs"}, {"mountPath": "/etc/kubernetes", "name": "all"}]
    vols = {"certs": {"name": "certs", "hostPath": {"path": "/srv/pki/"}},
            "all": {"name": "all", "hostPath": {"path": "/srv/k8s"}}}
    assert host_path_for("/etc/kubernetes/pki/etcd/ca.crt", mounts, vols).host == "/srv/pki/etcd/ca.crt"
    assert host_path_for("/etc/kubernetes/admin.conf", mounts, vols).host == "/srv/k8s/admin.conf"
    # /etc/kubernetes/pkix is not inside /etc/kubernetes/pki
    assert host_path_for("/etc/kubernetes/pkix/a", mounts, vols).host == "/srv/k8s/pkix/a"


def test_path_with_subpath_and_unmounted_and_non_hostpath():
    mounts = [{"mountPath": "/etc/kubernetes/x.conf", "name": "cfg", "subPath": "real.conf"},
              {"mountPath": "/etc/kubernetes/tmp", "name": "scratch"}]
    vols = {"cfg": {"name": "cfg", "hostPath": {"path": "/srv/cfg"}}, "scratch": {"name": "scratch", "emptyDir": {}}}
    assert host_path_for("/etc/kubernetes/x.conf", mounts, vols).host == "/srv/cfg/real.conf"
    unmounted = host_path_for("/etc/kubernetes/other.conf", mounts, vols)
    assert unmounted.volume is None and unmounted.host is None
    empty = host_path_for("/etc/kubernetes/tmp/a", mounts, vols)
    assert empty.volume == "scratch" and empty.host is None


# --- manifest validity ----------------------------------------------------------------------
def test_healthy_manifest_has_no_problems():
    assert problems(kcm()) == []
    assert "/etc/kubernetes/pki/ca.crt" in needed_paths(kcm(), "kube-controller-manager")


def test_kubeconfig_path_not_visible_in_the_container():
    doc = kcm([{"op": "set_flag", "flag": "--kubeconfig", "value": "/etc/kubernetes/controller-manager-XXXX.conf"}])
    [p] = problems(doc)
    assert p.startswith("--kubeconfig=/etc/kubernetes/controller-manager-XXXX.conf: no volumeMount")


def test_hostpath_pointing_elsewhere_breaks_flag_paths_even_if_the_kubelet_creates_it():
    doc = kcm([{"op": "set_host_path", "volume": "k8s-certs", "value": "/etc/kubernetes/WRONG-PKI-DIRECTORY"}])
    ps = problems(doc, files=NODE_FILES | {"/etc/kubernetes/WRONG-PKI-DIRECTORY"})
    assert any("--client-ca-file=/etc/kubernetes/pki/ca.crt: /etc/kubernetes/WRONG-PKI-DIRECTORY/ca.crt does not "
               "exist" in p for p in ps), ps
    assert not any(p.startswith("volume ") for p in ps)   # DirectoryOrCreate: need not exist


def test_hostpath_of_type_directory_must_exist_command_and_image():
    doc = kcm([{"op": "set_host_path", "volume": "ca-certs", "value": "/nope", "type": "Directory"},
               {"op": "set_command", "value": "kube-controller-managerr"},
               {"op": "set_image", "value": "127.0.0.1:5999/x:v0"}])
    ps = problems(doc)
    assert "volume 'ca-certs': hostPath /nope (type Directory) does not exist on the node" in ps
    assert "command[0] is 'kube-controller-managerr', expected 'kube-controller-manager'" in ps
    assert "image 127.0.0.1:5999/x:v0 is not present on the node" in ps


def test_broken_documents_are_problems_not_crashes():
    assert problems(None) == ["not a YAML mapping (a Pod object)"]
    assert problems({"kind": "Pod", "spec": {}}) == ["no spec.containers[0]"]
    doc = kcm()
    del doc["spec"]["containers"][0]["command"]
    assert "spec.containers[0].command is missing" in problems(doc)
    doc = kcm()
    doc["spec"]["containers"][0]["volumeMounts"].append({"mountPath": "/x", "name": "ghost"})
    assert any("'ghost', which is not defined" in p for p in problems(doc))


# --- diagnosis without the catalog --------------------------------------------------------------
from breakfix.grading.diagnosis import (Change, catalog_match, cause_line, changes, clip, error_line,  # noqa: E402
                                       mention_line, root_causes)

KCM_PATH = "/etc/kubernetes/manifests/kube-controller-manager.yaml"


def test_changed_line_is_found_by_comparing_documents(catalog):
    broken = yaml.safe_dump(kcm([{"op": "set_flag", "flag": "--cluster-cidr", "value": "10.244.0.0/99"},
                                 {"op": "remove_flag", "flag": "--client-ca-file"}]))
    found = {c.key: c for c in changes(KCM_PATH, broken, KCM, "backup")}
    assert set(found) == {"--cluster-cidr", "--client-ca-file"}
    assert found["--cluster-cidr"].now == "10.244.0.0/99" and found["--cluster-cidr"].baseline is None
    assert found["--client-ca-file"].now is None
    assert found["--cluster-cidr"].line("kube-controller-manager") == \
        "kube-controller-manager: --cluster-cidr=10.244.0.0/99 (baseline (absent), from backup)"
    vol = yaml.safe_dump(kcm([{"op": "set_host_path", "volume": "k8s-certs", "value": "/etc/kubernetes/x"}]))
    [c] = changes(KCM_PATH, vol, KCM, "snapshot")
    assert (c.key, c.now, c.baseline) == ("volumes[k8s-certs].hostPath.path", "/etc/kubernetes/x", "/etc/kubernetes/pki")
    assert changes(KCM_PATH, KCM, KCM, "backup") == []


def test_kubelet_files_compare_by_field_and_secrets_are_not_shown():
    base = "kind: KubeletConfiguration\nstaticPodPath: /etc/kubernetes/manifests\n"
    [c] = changes("/var/lib/kubelet/config.yaml", base.replace("manifests", "manifestz"), base, "backup")
    assert c.line("kubelet") == "kubelet: staticPodPath=/etc/kubernetes/manifestz " \
                                "(baseline /etc/kubernetes/manifests, from backup)"
    env = 'KUBELET_KUBEADM_ARGS="--node-ip=172.18.0.2 --pod-infra-container-image=x"\n'
    [c] = changes("/var/lib/kubelet/kubeadm-flags.env", env.replace("172.18.0.2", "10.0.0.9"), env, "snapshot")
    assert (c.key, c.now) == ("--node-ip", "10.0.0.9")


def test_catalog_fault_is_named_only_when_its_own_edits_give_the_change(catalog):
    f = catalog["controller-manager-kubeconfig-path"]
    broken = yaml.safe_dump(apply_edits(yaml.safe_load(KCM), list(f.edits)))
    observed = changes(KCM_PATH, broken, KCM, "backup")
    assert catalog_match("kube-controller-manager", observed, {KCM_PATH: KCM}, catalog).id == f.id
    other = changes(KCM_PATH, yaml.safe_dump(kcm([{"op": "set_flag", "flag": "--kubeconfig",
                                                   "value": "/etc/kubernetes/elsewhere.conf"}])), KCM, "backup")
    assert catalog_match("kube-controller-manager", other, {KCM_PATH: KCM}, catalog) is None
    assert catalog_match("kube-controller-manager", [], {KCM_PATH: KCM}, catalog) is None


def test_a_catalog_edit_shared_by_faults_of_other_shapes_names_the_broadest_or_the_journaled_one(catalog):
    import dataclasses
    f = catalog["controller-manager-kubeconfig-path"]
    twin = dataclasses.replace(f, id="aa-ha-only-twin", shapes=("ha",))
    both = {f.id: f, twin.id: twin}
    broken = yaml.safe_dump(apply_edits(yaml.safe_load(KCM), list(f.edits)))
    observed = changes(KCM_PATH, broken, KCM, "backup")
    assert catalog_match("kube-controller-manager", observed, {KCM_PATH: KCM}, both).id == f.id
    assert catalog_match("kube-controller-manager", observed, {KCM_PATH: KCM}, both,
                         frozenset({twin.id})).id == twin.id


@pytest.mark.parametrize("log,want", [
    ('Error: invalid argument "maybe" for "--leader-elect" flag: strconv.ParseBool: parsing "maybe": invalid syntax\n'
     "Usage:\n  kube-scheduler [flags]\n      --leader-elect   Start a leader election client (default true)\n"
     "error: nothing", 'Error: invalid argument "maybe" for "--leader-elect" flag'),
    ("I1126 10:00:00.000000       1 server.go:1] starting\nE1126 10:00:01.000000       1 run.go:72] "
     '"command failed" err="service-cluster-ip-ranges: invalid CIDR"\n', '"command failed" err="service-cluster'),
    ("starting\nopen /etc/kubernetes/pki/missing.key: no such file or directory\nbye\n", "no such file"),
    ("all good\n", None),
])
def test_error_line_is_the_components_own(log, want):
    got = error_line(log)
    assert (got is None) if want is None else (want in got)


# The journal of a kubelet that cannot reach its runtime (CI, stop 20): systemd restarts it every
# second, so the journal may end on the kubelet's own line or on systemd's.
_RUNTIME_KLOG = (
    'E1127 05:01:58.410938   17132 run.go:72] "command failed" err="failed to run Kubelet: validate service '
    'connection: validate CRI v1 runtime API for endpoint \\"unix:///run/containerd/containerd-missing.sock\\": '
    'rpc error: code = Unavailable desc = connection error: desc = \\"transport: Error while dialing: dial unix '
    '/run/containerd/containerd-missing.sock: connect: no such file or directory\\""')
_RUNTIME_JOURNAL = [
    "Nov 27 05:01:58.408001 breakfix-unseen-control-plane systemd[1]: Started kubelet.service - kubelet.",
    "Nov 27 05:01:58.411053 breakfix-unseen-control-plane kubelet[17132]: " + _RUNTIME_KLOG,
    "Nov 27 05:01:58.420002 breakfix-unseen-control-plane systemd[1]: kubelet.service: Failed with result "
    "'exit-code'."]


@pytest.mark.parametrize("lines", [_RUNTIME_JOURNAL, _RUNTIME_JOURNAL[:2]], ids=["systemd-last", "kubelet-last"])
def test_a_journal_error_line_is_the_kubelets_own_whichever_came_last(lines):
    got = error_line("\n".join(lines))
    assert got == _RUNTIME_KLOG   # without journald's prefix, whole: the dial's reason is at its end


ETCD_FATAL = ('{"level":"fatal","ts":"2026-11-27T05:30:36.654801Z","caller":"etcdmain/etcd.go:198","msg":"listener '
              'failed","error":"open /etc/kubernetes/pki/etcd/server-key.pem: no such file or directory","stacktrace":"'
              + "go.etcd.io/etcd/server/v3/etcdmain.startEtcdOrProxyV2\\n\\tgo.etcd.io/etcd/server/v3@v3.6.5/x.go:1" * 8
              + '"}')


def test_a_long_line_keeps_the_part_that_says_why():
    dial = "E1 x] " + "a" * 500 + " dial unix /x.sock: connect: no such file or directory"
    got = clip(dial)
    assert len(got) == 400 and got.startswith("E1 x] aaa") and got.endswith("connect: no such file or directory")
    # etcd says why early and then prints a stack trace: its head is kept
    got = clip(ETCD_FATAL)
    assert got == ETCD_FATAL[:400] and "server-key.pem: no such file or directory" in got
    assert clip("E1 x] " + "b" * 600) == "E1 x] " + "b" * 394          # no reason anywhere: the head
    assert clip("short") == "short" and clip(dial, 600) == dial
    journal = clip(_RUNTIME_JOURNAL[1])   # the kubelet's line with journald's prefix is 405 characters
    assert journal.startswith("Nov 27") and journal.endswith("containerd-missing.sock: connect: no such file or directory")


APISERVER_TIMEOUT_LOG = (
    'W1126 09:50:01.000000       1 logging.go:55] [core] [Channel #1 SubChannel #2]grpc: addrConn.createTransport '
    'failed to connect to {Addr: "127.0.0.1:2380"}. Err: connection error: desc = "transport: Error while dialing: '
    'dial tcp 127.0.0.1:2380: connect: connection refused"\n'
    "I1126 09:50:02.000000       1 server.go:1] still starting\n"
    "F1126 09:51:01.000000       1 instance.go:232] Error creating leases: error creating storage factory: "
    "context deadline exceeded\n")


def test_a_deadline_error_line_gets_the_line_that_says_why():
    err = error_line(APISERVER_TIMEOUT_LOG)
    assert "context deadline exceeded" in err
    assert "dial tcp 127.0.0.1:2380: connect: connection refused" in cause_line(APISERVER_TIMEOUT_LOG, err)
    # an error line that already says why needs nothing more; nor does a log without a concrete line
    assert cause_line("E1 x] open /a: no such file or directory\n", "open /a: no such file or directory") is None
    assert cause_line("I1 starting\n", "F1 x] context deadline exceeded") is None
    assert cause_line(APISERVER_TIMEOUT_LOG, None) is None


KUBELET_JOURNAL = (
    'Nov 26 09:50:00 n kubelet[9]: I1126 09:50:00.1 9 server.go:1] "Adding static pod path" '
    'path="/etc/kubernetes/manifest"\n'
    'Nov 26 09:50:01 n kubelet[9]: E1126 09:50:01.1 9 file_linux.go:61] "Unable to read config path" '
    'err="path does not exist, ignoring" path="/etc/kubernetes/manifest"\n'
    'Nov 26 09:50:02 n kubelet[9]: E1126 09:50:02.1 9 kubelet.go:1] "Error getting node" err="node not found"\n'
    'Nov 26 09:50:03 n kubelet[9]: E1126 09:50:03.1 9 x.go:1] "failed" path="/etc/kubernetes/manifests/a.yaml"\n')


def test_the_line_naming_the_changed_value_is_found():
    ch = [Change("/var/lib/kubelet/config.yaml", "staticPodPath", "/etc/kubernetes/manifest",
                 "/etc/kubernetes/manifests", "backup")]
    got = mention_line(KUBELET_JOURNAL, ch)
    assert got and got.startswith("E1126") and "Unable to read config path" in got   # the error line itself;
    assert mention_line(KUBELET_JOURNAL.replace("/manifest\"", "/other\""), ch) is None   # not .../manifests
    assert mention_line(KUBELET_JOURNAL, [Change("f", "--token", "/etc/kubernetes/manifest", None, "backup")]) is None
    assert mention_line(KUBELET_JOURNAL, [Change("f", "--v", "2", "3", "backup")]) is None   # too short to name


def test_root_cause_first_and_nothing_else_blamed():
    ch = {"kube-apiserver": [Change("f", "--x", "1", "2", "backup")]}
    got = root_causes({"kube-apiserver", "kube-scheduler", "nodes", "pod-start"}, ch)
    assert [(f.component, f.role, f.blocked_by) for f in got] == [
        ("kube-apiserver", "root-cause", None), ("kube-scheduler", "blocked", "kube-apiserver"),
        ("nodes", "blocked", "kube-apiserver"), ("pod-start", "blocked", "kube-apiserver")]
    # the kubelet's config changed: every static pod is gone, the kubelet itself runs
    kch = {"kubelet": [Change("/var/lib/kubelet/config.yaml", "staticPodPath", "a", "b", "backup")]}
    got = root_causes({"etcd", "kube-apiserver", "nodes"}, kch)
    assert [f.component for f in got if f.role == "root-cause"] == ["kubelet"]
    assert all(f.blocked_by == "kubelet" for f in got if f.role == "blocked")
    # no baseline at all: the failing part with nothing failing below it
    assert [f.component for f in root_causes({"kube-scheduler", "pod-start"}, {}) if f.role == "root-cause"] \
        == ["kube-scheduler"]
    # two faults at once
    two = root_causes({"kube-scheduler", "kube-controller-manager", "app"},
                      {"kube-scheduler": [Change("f", "--a", "1", "2", "b")],
                       "kube-controller-manager": [Change("g", "--b", "1", "2", "b")]})
    assert sorted(f.component for f in two if f.role == "root-cause") == ["kube-controller-manager", "kube-scheduler"]


# --- score and outputs ----------------------------------------------------------------------------
def _report(*results, unchanged=True):
    return GradeReport(list(results), "docker://n", "n", {"reachable": True, "detail": "ok"},
                       {"paths": ["/etc/kubernetes"], "files": 3, "unchanged": unchanged,
                        "changed": [] if unchanged else ["/etc/kubernetes/admin.conf"]}, 1.5)


def _fail():
    r = CheckResult("kube-scheduler", "pod_ready", "fail", "kube-scheduler-n: ready=False\nmore evidence")
    r.likely_fault = LikelyFault("scheduler-command-typo", "typo", "Fix the command.", ["manifest has 'x'"])
    return r


def test_score_is_passed_weight_over_total_and_skips_do_not_count():
    rs = [CheckResult("etcd", "manifest", "pass"), CheckResult("etcd", "pod_ready", "fail"),
          CheckResult("app", "app_replicas", "skip"), CheckResult("kube-scheduler", "pod-bound", "pass")]
    got, total, pct = score(rs)
    assert (got, total) == (WEIGHTS["manifest"] + WEIGHTS["pod-bound"],
                            WEIGHTS["manifest"] + WEIGHTS["pod_ready"] + WEIGHTS["pod-bound"])
    assert pct == round(100 * got / total, 1)
    assert score([]) == (0, 0, 0.0)
    assert score([CheckResult("etcd", "manifest", "pass")])[2] == 100.0


def test_report_passes_only_when_all_checks_pass_and_files_are_unchanged():
    ok = CheckResult("etcd", "manifest", "pass", "fine")
    assert _report(ok).passed
    assert not _report(ok, _fail()).passed
    assert not _report(ok, unchanged=False).passed
    assert compare_checksums({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"}) == ["b", "c"]


def test_json_shape():
    d = json.loads(_report(CheckResult("etcd", "manifest", "pass", "fine"), _fail()).to_json())
    assert set(d) >= {"node", "api", "passed", "score", "failed", "checks", "readonly", "seconds"}
    assert d["passed"] is False and d["failed"] == ["kube-scheduler: pod Ready"]
    assert d["score"] == {"passed_weight": 2, "total_weight": 5, "percent": 40.0}
    c = d["checks"][1]
    assert c["id"] == "kube-scheduler/pod_ready" and c["component"] == "kube-scheduler" and not c["passed"]
    assert c["likely_fault"]["id"] == "scheduler-command-typo"
    assert c["likely_fault"]["remediation"] == "Fix the command."
    assert "ready=False" in c["evidence"]


def test_junit_shape():
    rep = _report(CheckResult("etcd", "manifest", "pass", "fine"), _fail(),
                  CheckResult("app", "app_replicas", "skip", "skipped"))
    root = ET.fromstring(to_junit(rep))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["etcd: manifest valid", "kube-scheduler: pod Ready",
                                              "app: replicas Ready", "read-only: node files unchanged"]
    assert suite.get("tests") == "4" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    failure = cases[1].find("failure")
    assert "scheduler-command-typo" in failure.get("message")
    assert "more evidence" in failure.text and "remediation:\nFix the command." in failure.text
    assert props_of(suite)["verdict"] == "pass"
    assert cases[2].find("skipped") is not None
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["score_percent"] == "40.0"


def props_of(suite):
    return {p.get("name"): p.get("value") for p in suite.find("properties")}


def test_text_puts_the_diagnosis_after_the_checks():
    from breakfix.grading.diagnosis import Finding
    rep = _report(CheckResult("etcd", "manifest", "pass", "fine"), _fail())
    rep.verdict = "fail"
    rep.diagnosis = [Finding("kube-scheduler", changed=[Change(
        "/etc/kubernetes/manifests/kube-scheduler.yaml", "--leader-elect", "maybe", "true", "backup")],
        proof=['Error: invalid argument "maybe" for "--leader-elect" flag']),
        Finding("pod-start", role="blocked", blocked_by="kube-scheduler")]
    text = to_text(rep)
    assert "FAIL  kube-scheduler: pod Ready" in text
    assert "root cause: kube-scheduler" in text
    assert "changed: kube-scheduler: --leader-elect=maybe (baseline true, from backup)" in text
    assert 'proof:   Error: invalid argument "maybe"' in text
    assert "blocked by kube-scheduler: pod-start" in text
    assert "verdict: FAIL (exit 1); score: 40% (2/5)" in text
    assert "likely fault" not in text


# --- command line errors: one line, exit 2, no cluster touched ------------------------------------
@pytest.mark.parametrize("argv, text", [
    (["break", "no-such-fault", "--node", "docker://x", "--kubeconfig", "/x"], "unknown fault 'no-such-fault'"),
    (["check", "--node", "docker://x"], "give --kubeconfig PATH"),
    (["check"], "which cluster?"),
    (["check", "--kubeconfig", "/nonexistent", "--node", "local://"], "kubeconfig /nonexistent not found"),
    (["frobnicate"], "invalid choice"),
    (["check", "--replicas", "two"], "invalid int value"),
])
def test_cli_user_errors_are_one_line_exit_2(capsys, argv, text):
    assert cli.main(argv) == 2
    out, errout = capsys.readouterr()
    assert out == ""
    assert errout.count("\n") == 1 and errout.startswith("breakfix: error: ") and text in errout, errout


def test_cli_malformed_fault_file_is_one_line(tmp_path, capsys):
    (tmp_path / "bad-fault.yaml").write_text("id: bad-fault\ncomponent: etcd\n")
    assert cli.main(["list", "--faults-dir", str(tmp_path)]) == 2
    errout = capsys.readouterr().err
    assert errout.count("\n") == 1 and "bad-fault.yaml: field 'title': is required" in errout


def test_cli_list(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "scheduler-command-typo" in out and "kube-scheduler" in out


def test_cli_node_without_manifests_dir_is_one_line(tmp_path, capsys):
    if Path("/etc/kubernetes/manifests").is_dir():
        pytest.skip("this machine is a control-plane node")
    kc = tmp_path / "kubeconfig"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    assert cli.main(["check", "--kubeconfig", str(kc), "--node", "local://"]) == 2
    out, errout = capsys.readouterr()
    assert out == "" and errout.count("\n") == 1
    assert "node local://: no /etc/kubernetes/manifests" in errout


# --- verdicts and the new parts (functional probes) ------------------------------------------------
def _grader(api_ok: bool, node_api=None):
    from breakfix.grading import Grader
    g = Grader(None, object() if api_ok else None, "n", {}, api_error=None if api_ok else "timed out")
    g.node_api = node_api
    return g


def test_verdict_fail_when_a_probe_fails_even_if_every_pod_is_ready():
    from breakfix.waits import Observation
    ok = [CheckResult("kube-controller-manager", "pod_ready", "pass")]
    probe = CheckResult("kube-controller-manager", "deployment-replicaset", "fail", "no ReplicaSet", source="api")
    assert _grader(True).verdict(ok + [probe]) == "fail"
    assert _grader(True).verdict(ok) == "pass"
    # a probe that could not run for the grader's own reasons, nothing failed: could not grade
    err = CheckResult("kube-apiserver", "api-write", "error", "HTTP 403", source="api")
    assert _grader(True).verdict(ok + [err]) == "could-not-grade"
    # no API for the grader: /readyz on the node decides whose problem it is
    down = [CheckResult("kube-apiserver", "api-readyz", "fail", "no answer", source="api")]
    assert _grader(False, Observation(False, "on the node: /readyz 500")).verdict(down) == "fail"
    assert _grader(False, Observation(True, "on the node: /readyz ok")).verdict(down) == "could-not-grade"
    assert _grader(False, None).verdict(down) == "could-not-grade"
    # ... but a failure the node itself shows is a fail whatever the API does
    crashed = CheckResult("kube-apiserver", "pod_ready", "fail", "exited 1", source="node")
    assert _grader(False, Observation(True, "ok")).verdict(down + [crashed]) == "fail"


def test_a_running_root_cause_is_found_through_what_it_serves():
    etcd = {"etcd": [Change("/etc/kubernetes/manifests/etcd.yaml", "--listen-client-urls", "a", "b", "kubeadm")]}
    got = root_causes({"kube-apiserver", "storage"}, etcd)
    assert [(f.component, f.role, f.blocked_by) for f in got] == [
        ("etcd", "root-cause", None), ("kube-apiserver", "blocked", "etcd"), ("storage", "blocked", "etcd")]
    api = {"kube-apiserver": [Change("/etc/kubernetes/manifests/kube-apiserver.yaml", "--enable-admission-plugins",
                                     "a", "b", "backup")]}
    got = root_causes({"pod-start"}, api)
    assert [(f.component, f.role) for f in got] == [("kube-apiserver", "root-cause"), ("pod-start", "blocked")]
    # nothing changed: the part that fails is its own root cause
    assert [f.component for f in root_causes({"kube-controller-manager"}, {})] == ["kube-controller-manager"]


def test_warnings_and_strict():
    from breakfix.grading.diagnosis import Finding
    rep = _report(CheckResult("etcd", "manifest", "pass", "fine"))
    rep.diagnosis = [Finding("kubelet", role="warn", changed=[Change("/var/lib/kubelet/config.yaml", "clusterDNS",
                                                                     ["10.96.0.99"], ["10.96.0.10"], "backup")])]
    assert rep.exit_code == 0 and "WARN  changed while every check passes: kubelet: clusterDNS=" in to_text(rep)
    assert rep.to_dict()["warnings"] == [rep.diagnosis[0].changed[0].line("kubelet")]
    rep.strict = True
    assert rep.exit_code == 1


def test_running_proof_skips_healthy_start_up_lines_and_names_a_concrete_failure():
    from breakfix.grading.diagnosis import running_proof
    forbidden = ('E1207 13:20:40.551005       1 reflector.go:205] "Failed to watch" err="failed to list *v1.Pod: pods is '
                 'forbidden: User \\"system:kube-scheduler\\" cannot list resource \\"pods\\" in API group \\"\\" at '
                 'the cluster scope"')
    refused = ('E1207 13:15:37.763141       1 reflector.go:205] "Failed to watch" err="failed to list *v1.CSINode: Get '
               '\\"https://172.18.0.3:6444/apis/storage.k8s.io/v1/csinodes\\": dial tcp 172.18.0.3:6444: connect: '
               'connection refused"')
    info = 'I1207 13:20:40.1 1 leaderelection.go:257] attempting to acquire leader lease kube-system/kube-scheduler...'
    assert running_proof("\n".join([forbidden, info])) is None
    assert running_proof("\n".join([forbidden, refused, info])) == refused
    assert running_proof("") is None


def test_a_changed_list_value_is_matched_against_the_catalog(catalog):
    """clusterDNS is a list: the catalog match compares it as a value, it does not crash."""
    base = "kind: KubeletConfiguration\nclusterDNS:\n- 10.96.0.10\n"
    found = changes("/var/lib/kubelet/config.yaml", base.replace("0.10", "0.99"), base, "kubeadm")
    assert [(c.key, c.now) for c in found] == [("clusterDNS", ["10.96.0.99"])]
    assert catalog_match("kubelet", found, {"/var/lib/kubelet/config.yaml": base}, catalog) is None


def test_a_generic_error_of_a_busy_healthy_api_server_is_no_proof():
    from breakfix.grading.diagnosis import running_proof
    busy = ('E1207 14:07:35.111048       1 timeout.go:140] "Post-timeout activity" logger="UnhandledError" '
            'timeElapsed="2.070532ms" method="PATCH" path="/api/v1/namespaces/kube-system/events/x" result=null')
    assert running_proof(busy) is None


def test_a_validation_error_is_no_proof_of_refused_credentials():
    """A healthy controller manager that restarts may race the node's podCIDR once; the API server's
    field validation says "Forbidden", which is not an authorization refusal."""
    from breakfix.grading.diagnosis import running_proof
    cidr = ('E1207 15:34:54.992471       1 range_allocator.go:252] "Unhandled Error" err="error syncing '
            '\'breakfix-running-control-plane\': failed to patch node CIDR: Node \\"breakfix-running-control-plane'
            '\\" is invalid: [spec.podCIDRs: Invalid value: [\\"10.244.1.0/24\\",\\"10.244.0.0/24\\"]: may '
            'specify no more than one CIDR for each IP family, spec.podCIDRs: Forbidden: node updates may not '
            'change podCIDR except from \\"\\" to valid], requeuing" logger="UnhandledError"')
    assert running_proof(cidr) is None
    denied = ('E1207 13:20:40.551005       1 reflector.go:205] "Failed to watch" err="failed to list *v1.Pod: pods '
              'is forbidden: User \\"system:anonymous\\" cannot list resource \\"pods\\""')
    assert running_proof(denied) == denied


def test_a_dial_the_component_cancels_itself_is_no_proof():
    from breakfix.grading.diagnosis import running_proof
    stopping = ('W1207 14:43:11.087184       1 logging.go:55] [core] [Channel #251 SubChannel #252]grpc: '
                'addrConn.createTransport failed to connect to {Addr: "127.0.0.1:2379"}. Err: connection error: '
                'desc = "transport: Error while dialing: dial tcp 127.0.0.1:2379: operation was canceled"')
    assert running_proof(stopping) is None
    assert running_proof(stopping.replace("operation was canceled", "connect: connection refused"))
