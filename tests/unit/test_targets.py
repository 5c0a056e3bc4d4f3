"""The target kinds' engine logic on an in-memory node (and a fake API, a fake docker): for each new
kind the order backup -> journal -> restore registered -> change, and that the journal's replay (the
one undo, after a kill -9 at any point) puts everything back. Their proof of effect needs a real
cluster: suites/test_faults.py."""
import copy
import datetime as dt
import json

import pytest

from breakfix import killpoints, targets
from breakfix.catalog import Fault, target
from breakfix.journal import Entry, Journal, JournalError, backup_path, host_journal, journal_path, parse_entry

from .test_journal import Killed, LabNode, lab_on

CNI = "/opt/cni/bin/ptp"
MANIFEST = "/etc/kubernetes/manifests/kube-scheduler.yaml"
COPY = MANIFEST + ".bak"
POD = b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: s\n    image: registry.k8s.io/kube-scheduler:v1\n"


def fault(kind: str, edits=(), **spec) -> Fault:
    return Fault("demo", "cni", "demo", "critical", target(kind, **spec), tuple(edits),
                 ({"kind": "node_not_ready"},), "f", "r")


REMOVED = fault("file_removed", path=CNI)
CREATED = fault("file_created", ({"op": "set_image", "value": "nope:v0"},), path=COPY, source=MANIFEST)


def order(node):
    return [(c[0], c[-1]) for c in node.calls if c[0] in ("copy_file", "write_atomic", "register", "remove")]


def test_file_removed_order_backup_journal_register_remove():
    node = LabNode({CNI: b"\x7fELF plugin"})
    inj = lab_on(node).inject(REMOVED, register=lambda fn: node.calls.append(("register",)))
    assert order(node) == [("copy_file", backup_path(CNI)), ("write_atomic", journal_path("demo")),
                           ("register", "register"), ("remove", CNI)]
    assert CNI not in node.files and inj.entry.kind == "file_removed"


def test_file_created_journals_that_it_did_not_exist_then_writes():
    node = LabNode({MANIFEST: POD})
    inj = lab_on(node).inject(CREATED, register=lambda fn: node.calls.append(("register",)))
    assert order(node) == [("write_atomic", journal_path("demo")), ("register", "register"), ("write_atomic", COPY)]
    entry = json.loads(node.files[journal_path("demo")][0])
    assert entry["kind"] == "file_created" and entry["backup"] is None and entry["created"]
    assert b"nope:v0" in node.files[COPY][0] and node.files[MANIFEST][0] == POD
    assert inj.entry.what() == f"remove {COPY}"


def test_file_created_refuses_a_file_that_exists():
    node = LabNode({MANIFEST: POD, COPY: b"mine"})
    with pytest.raises(Exception, match="already exists"):
        lab_on(node).inject(CREATED, register=lambda fn: None)
    assert node.files[COPY][0] == b"mine" and journal_path("demo") not in node.files


CASES = [(name, point) for name in ("removed", "created") for point in killpoints.POINTS
         if point != "during-unit-restart"]


@pytest.mark.parametrize("name,point", CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_kill_at_every_point_then_replay_restores(monkeypatch, name, point):
    node = LabNode({CNI: b"\x7fELF plugin", MANIFEST: POD})
    before = dict(node.files)
    monkeypatch.setenv(killpoints.ENV, point)
    monkeypatch.setattr(killpoints.os, "kill", lambda pid, sig: (_ for _ in ()).throw(Killed()))
    monkeypatch.setattr("breakfix.symptoms.check", lambda lab, inj, spec: "seen")
    lab = lab_on(node)
    try:
        inj = lab.inject(REMOVED if name == "removed" else CREATED, register=lambda fn: None)
        lab.observe(inj)
        lab.restore(inj, wait=False)
    except Killed:
        pass
    monkeypatch.delenv(killpoints.ENV)
    lab_on(node).restore_leftovers(wait=False)
    assert node.files == before


def test_parse_entry_refuses_unknown_kinds_and_incomplete_entries():
    where = journal_path("demo")
    with pytest.raises(JournalError, match="unknown target kind"):
        parse_entry(json.dumps({"fault": "demo", "kind": "nope"}).encode(), where)
    with pytest.raises(JournalError, match="created file needs"):
        parse_entry(json.dumps({"fault": "demo", "kind": "file_created", "path": COPY}).encode(), where)
    with pytest.raises(JournalError, match="API object entry needs"):
        parse_entry(json.dumps({"fault": "demo", "kind": "api_object"}).encode(), where)
    with pytest.raises(JournalError, match="objects.*mapping"):
        parse_entry(json.dumps({"fault": "demo", "kind": "api_object", "objects": "x"}).encode(), where)
    e = parse_entry(json.dumps({"fault": "demo", "kind": "api_object", "objects": {"configmap/a/b": {"/data": {}}}})
                    .encode(), where)
    assert e.objects == {"configmap/a/b": {"/data": {}}}


# --- API objects --------------------------------------------------------------------------------------
class FakeApi:
    def __init__(self, objects, calls):
        self.objects, self.calls = objects, calls

    def _key(self, ns, name):
        return f"{ns}/{name}"

    def __getattr__(self, attr):
        if attr.startswith("read_namespaced_"):
            return lambda name, ns, **kw: copy.deepcopy(self.objects[self._key(ns, name)])
        if attr.startswith("patch_namespaced_"):
            def patch(name, ns, ops, **kw):
                self.calls.append(("patch", f"{ns}/{name}"))
                doc = self.objects[self._key(ns, name)]
                for op in ops:
                    parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].strip("/").split("/")]
                    parent = doc
                    for p in parts[:-1]:
                        parent = parent.setdefault(p, {})
                    if op["op"] == "remove":
                        del parent[parts[-1]]
                    else:
                        parent[parts[-1]] = copy.deepcopy(op["value"])
                doc.setdefault("metadata", {})["generation"] = doc["metadata"].get("generation", 1) + 1
                doc.setdefault("status", {})["observedGeneration"] = doc["metadata"]["generation"]

                class Res:
                    class metadata:
                        generation = doc["metadata"]["generation"]
                return Res
            return patch
        raise AttributeError(attr)


class FakeKube:
    def __init__(self, objects, calls):
        self.core = self.apps = FakeApi(objects, calls)

        class Client:
            @staticmethod
            def sanitize_for_serialization(o):
                return o
        self.api_client = Client


COREFILE = ".:53 {\n    forward . /etc/resolv.conf\n}\n"


def api_fault():
    return Fault("demo", "coredns", "demo", "critical",
                 target("api_object", **{"object": "configmap/kube-system/coredns",
                                            "rollout": "deployment/kube-system/coredns"}),
                 ({"op": "replace_text", "path": "data.Corefile", "old": "forward", "new": "foward"},),
                 ({"kind": "dns_unanswered"},), "f", "r")


def api_objects():
    return {"kube-system/coredns": {"metadata": {"generation": 1}, "data": {"Corefile": COREFILE},
                                    "spec": {"template": {"metadata": {"labels": {"k": "v"}}}}}}


def test_api_object_journals_the_original_fields_before_patching_and_replay_puts_them_back():
    node = LabNode({})
    objects = api_objects()
    before = copy.deepcopy(objects)
    lab = lab_on(node)
    lab.kube = FakeKube(objects, node.calls)
    lab.journal.kube = lab.kube
    inj = lab.inject(api_fault(), register=lambda fn: node.calls.append(("register",)))
    seq = [(c[0], c[-1]) for c in node.calls if c[0] in ("write_atomic", "register", "patch")]
    assert seq[:3] == [("write_atomic", journal_path("demo")), ("register", "register"),
                       ("patch", "kube-system/coredns")]
    assert "foward" in objects["kube-system/coredns"]["data"]["Corefile"]
    assert targets.RESTARTED_AT in objects["kube-system/coredns"]["spec"]["template"]["metadata"]["annotations"]
    entry = json.loads(node.files[journal_path("demo")][0])
    assert entry["objects"]["configmap/kube-system/coredns"] == {"/data": {"Corefile": COREFILE}}
    assert entry["objects"]["deployment/kube-system/coredns"] == {"/spec/template/metadata/annotations": None}
    targets.replay(Journal(node, kube=lab.kube), inj.entry)
    for k in ("data", "spec"):
        assert objects["kube-system/coredns"][k] == before["kube-system/coredns"][k]
    assert journal_path("demo") not in node.files


def test_api_object_replay_without_the_api_keeps_the_journal():
    node = LabNode({})
    e = Journal(node).record(Entry(fault="demo", kind="api_object", objects={"configmap/a/b": {"/data": {}}}))
    with pytest.raises(JournalError, match="needs the API"):
        targets.replay(Journal(node), e)
    assert journal_path("demo") in node.files


def test_recorded_paths_keep_data_whole_and_two_segments_elsewhere():
    assert targets.recorded_paths([{"path": 'data["config.conf"]'}, {"path": "spec.replicas"},
                                   {"path": "spec.template.spec.nodeSelector"}]) == [
        ["data"], ["spec", "replicas"], ["spec", "template"]]


# --- a container on the host ---------------------------------------------------------------------------
def test_host_container_journals_on_the_host_before_docker_stop_and_replay_starts_it(monkeypatch, tmp_path):
    state = {"lb": True}
    calls = []

    def docker(*args, timeout=60):
        calls.append(args)
        state["lb"] = args[0] == "start"

        class R:
            returncode, stdout, stderr = 0, "", ""
        return R

    monkeypatch.setattr(targets, "docker", docker)
    monkeypatch.setattr(targets, "container_running", lambda name: state["lb"])
    node = LabNode({})
    lab = lab_on(node)
    lab.node_name = "cat9-control-plane"
    lab.journal.host = host_journal("cat9", str(tmp_path))
    f = Fault("demo", "load-balancer", "demo", "critical", target("host_container", **{
        "container": "external-load-balancer"}), (), ({"kind": "api_unreachable"},), "f", "r")
    seen = []
    lab.inject(f, register=lambda fn: seen.append(sorted(p.name for p in tmp_path.iterdir())))
    assert seen == [["demo.breakfix.json"]] and calls == [("stop", "cat9-external-load-balancer")]
    assert journal_path("demo") not in node.files          # no node's: the host keeps it
    left = lab.leftovers()
    assert [e.container for e in left] == ["cat9-external-load-balancer"]
    assert host_journal("other", str(tmp_path)).entries() == []   # another cluster's entries are not ours
    lab.restore_leftovers(wait=False)
    assert state["lb"] is True and list(tmp_path.iterdir()) == []


def test_cluster_of_kind_nodes():
    assert targets.cluster_of("cat1-control-plane") == "cat1"
    assert targets.cluster_of("ha-x-control-plane2") == "ha-x"
    assert targets.cluster_of("w-worker3") == "w"


# --- certificates --------------------------------------------------------------------------------------
def _ca_and_cert():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "kubernetes")])
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), True).sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME,
                                                                                  "kube-apiserver")]))
            .issuer_name(name).public_key(key.public_key()).serial_number(2).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("kubernetes")]), False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (ca.public_bytes(pem), ca_key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL,
                                                        serialization.NoEncryption()), leaf.public_bytes(pem))


def test_reissued_certificate_is_expired_same_key_and_names_signed_by_the_ca():
    from cryptography import x509
    ca_pem, ca_key_pem, leaf_pem = _ca_and_cert()
    new = x509.load_pem_x509_certificate(targets.reissue_expired(leaf_pem, ca_pem, ca_key_pem, 2))
    old = x509.load_pem_x509_certificate(leaf_pem)
    ca = x509.load_pem_x509_certificate(ca_pem)
    now = dt.datetime.now(dt.timezone.utc)
    assert new.not_valid_after_utc < now - dt.timedelta(days=1)
    assert new.public_key().public_numbers() == old.public_key().public_numbers()
    assert new.subject == old.subject and new.issuer == ca.subject
    assert new.extensions.get_extension_for_class(x509.SubjectAlternativeName).value == \
        old.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    new.verify_directly_issued_by(ca)
    assert new.serial_number != old.serial_number


def test_certificate_kind_backs_up_then_writes_the_reissued_one_and_replay_restores(monkeypatch):
    ca_pem, ca_key_pem, leaf_pem = _ca_and_cert()
    crt = "/etc/kubernetes/pki/apiserver.crt"
    node = LabNode({crt: leaf_pem, "/etc/kubernetes/pki/ca.crt": ca_pem, "/etc/kubernetes/pki/ca.key": ca_key_pem})
    before = dict(node.files)
    f = Fault("demo", "pki", "demo", "critical", target("certificate", **{
        "path": crt, "ca": "/etc/kubernetes/pki/ca.crt", "expired_days": 1}), (), ({"kind": "tls_verify_error"},),
        "f", "r")
    lab = lab_on(node)
    inj = lab.inject(f, register=lambda fn: node.calls.append(("register",)))
    assert order(node) == [("copy_file", backup_path(crt)), ("write_atomic", journal_path("demo")),
                           ("register", "register"), ("write_atomic", crt)]
    assert node.files[crt][0] != leaf_pem
    lab.restore(inj, wait=False)
    assert node.files == before


# --- symptoms' structured probes --------------------------------------------------------------------------
def test_dns_query_is_a_tcp_framed_a_query():
    from breakfix.probes import dns_query
    q = dns_query("kubernetes.default.svc.cluster.local")
    assert int.from_bytes(q[:2], "big") == len(q) - 2
    assert q[2:4] == (0x4B42).to_bytes(2, "big") and q[4:6] == b"\x01\x00"
    assert q[-4:] == b"\x00\x01\x00\x01" and b"\x0akubernetes\x07default" in q


def test_every_target_kind_has_a_strategy_and_a_spec():
    from breakfix.targets_spec import TARGET_KINDS
    assert set(targets.STRATEGIES) == set(TARGET_KINDS)
    for s in targets.STRATEGIES.values():
        for m in ("prepare", "entry", "apply", "took_effect", "recovered", "undo"):
            assert callable(getattr(s, m)), (s.name, m)


class ScriptNode:
    """A node whose every command answers RESULT (rc, stdout), or raises."""

    def __init__(self, rc=0, out="", boom=False):
        self.rc, self.out, self.boom = rc, out, boom

    def run(self, cmd, timeout=None):
        from breakfix.errors import NodeUnreachable
        from breakfix.node import Result
        if self.boom:
            raise NodeUnreachable("node gone")
        return Result(self.rc, self.out, "")


class _Lab:
    def __init__(self, node):
        self.node = node


@pytest.mark.parametrize("rc,out,boom,want", [
    (0, "HTTP/1.0 200 OK", False, 200),      # the app
    (0, "HTTP/1.0 426 Upg", False, 426),     # something else answered: not the app
    (10, "", False, 0),                       # no connect
    (124, "", False, 0),                      # nothing back in time
    (0, "garbage-bytes", False, 0),           # not HTTP
    (127, "", False, None),                   # bash missing: the probe did not run
    (0, "", True, None),                      # the node did not answer
])
def test_http_status_from_the_node(rc, out, boom, want):
    from breakfix.symptoms import http_status
    assert http_status(_Lab(ScriptNode(rc, out, boom)), "10.0.0.1", 8080) == want


def _hex(b: bytes) -> str:
    return " ".join(f"{x:02x}" for x in b)


def test_dns_over_tcp_outcomes():
    from breakfix.symptoms import dns_over_tcp
    reply = b"\x00\x40" + (0x4B42).to_bytes(2, "big") + b"\x81\x80" + b"\x00\x01\x00\x01\x00\x00\x00\x00"
    assert dns_over_tcp(_Lab(ScriptNode(0, _hex(reply))), "10.96.0.10", "x.y") == (
        "answered", {"id": 0x4B42, "rcode": 0, "answers": 1})
    assert dns_over_tcp(_Lab(ScriptNode(0, _hex(b"HTTP/1.1 400 B"))), "10.96.0.10", "x.y")[0] == "no-answer"
    assert dns_over_tcp(_Lab(ScriptNode(0, _hex(reply[:6]))), "10.96.0.10", "x.y")[0] == "no-answer"
    assert dns_over_tcp(_Lab(ScriptNode(10, "")), "10.96.0.10", "x.y")[0] == "no-connect"
    assert dns_over_tcp(_Lab(ScriptNode(2, "")), "10.96.0.10", "x.y")[0] == "unknown"
    assert dns_over_tcp(_Lab(ScriptNode(boom=True)), "10.96.0.10", "x.y")[0] == "unknown"
