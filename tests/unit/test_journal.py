"""The journal's own logic on an in-memory node: the order backup -> journal -> restore registered
-> write, replay, and that a journal never reports a restore it did not do. The same paths run
against real kind clusters in tests/e2e/test_kill9.py."""
import hashlib
import json

import pytest

from breakfix import killpoints
from breakfix.catalog import Fault, target
from breakfix.errors import NodeUnreachable
from breakfix.journal import Entry, Journal, JournalError, backup_path, journal_path
from breakfix.lab import Lab
from breakfix.node import BACKUP_DIR, tmp_path
from breakfix.targets import replay

from .fakenode import FakeNode

MANIFEST = "/etc/kubernetes/manifests/kube-scheduler.yaml"
ORIGINAL = b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: s\n    command: [kube-scheduler]\n"


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def recorded(node, path=MANIFEST, **kw) -> Entry:
    return Journal(node).record(Entry(fault="demo", path=path, sha256=sha(node.files[path][0]), mode="600", **kw))


def test_record_backs_up_then_journals_and_changes_nothing():
    node = FakeNode({MANIFEST: ORIGINAL})
    e = recorded(node)
    kinds = [c[0] for c in node.calls]
    assert kinds.index("copy_file") < kinds.index("write_atomic")
    assert node.files[MANIFEST][0] == ORIGINAL
    assert node.files[e.backup][0] == ORIGINAL and e.backup.startswith(BACKUP_DIR + "/")
    assert json.loads(node.files[journal_path("demo")][0])["sha256"] == sha(ORIGINAL)


def test_replay_puts_bytes_and_mode_back_and_clears():
    node = FakeNode({MANIFEST: ORIGINAL})
    e = recorded(node, restart_unit="kubelet")
    node.files[MANIFEST] = (b"broken", "644")
    node.units["kubelet"] = "failed"
    replay(Journal(node), e)
    assert node.files[MANIFEST] == (ORIGINAL, "600")
    assert e.backup not in node.files and e.file not in node.files
    assert node.units["kubelet"] == "active"


def test_missing_backup_fails_loudly_and_keeps_the_journal():
    node = FakeNode({MANIFEST: ORIGINAL})
    e = recorded(node)
    node.files[MANIFEST] = (b"broken", "600")
    del node.files[e.backup]
    with pytest.raises(JournalError, match="is missing.*journal .* kept"):
        replay(Journal(node), e)
    assert e.file in node.files and node.files[MANIFEST][0] == b"broken"


def test_missing_backup_but_file_already_original_is_finished():
    """Killed after the restore, before the journal was removed: nothing is lost."""
    node = FakeNode({MANIFEST: ORIGINAL})
    e = recorded(node)
    del node.files[e.backup]
    replay(Journal(node), e)
    assert e.file not in node.files


def test_backup_with_wrong_checksum_is_not_restored():
    node = FakeNode({MANIFEST: ORIGINAL})
    e = recorded(node)
    node.files[MANIFEST] = (b"broken", "600")
    node.files[e.backup] = (b"tampered", "600")
    with pytest.raises(JournalError, match="sha256"):
        replay(Journal(node), e)
    assert node.files[MANIFEST][0] == b"broken" and e.file in node.files


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"fault": "demo", "colour": "red"}',
                                 b'{"fault": "demo", "path": "/x"}', b'{"fault": "other"}'])
def test_corrupt_journal_is_an_error_not_nothing_to_restore(raw):
    node = FakeNode({MANIFEST: ORIGINAL, journal_path("demo"): raw})
    with pytest.raises(JournalError) as exc:
        Journal(node).entries()
    assert journal_path("demo") in str(exc.value) and "\n" not in str(exc.value)


def test_failed_listing_is_not_an_empty_journal():
    node = FakeNode()
    node.fail_on.add("list_files")
    with pytest.raises(NodeUnreachable):
        Journal(node).entries()


def test_sweep_removes_stale_dot_files_and_unused_backups():
    node = FakeNode({MANIFEST: ORIGINAL, tmp_path(MANIFEST): b"half", backup_path(MANIFEST): ORIGINAL,
                     backup_path(MANIFEST) + ".tmp": b"par"})
    removed = Journal(node).sweep()
    assert set(removed) == {tmp_path(MANIFEST), backup_path(MANIFEST), backup_path(MANIFEST) + ".tmp"}
    assert set(node.files) == {MANIFEST}


def test_sweep_keeps_an_orphan_backup_that_differs():
    node = FakeNode({MANIFEST: b"changed by someone", backup_path(MANIFEST): ORIGINAL})
    with pytest.raises(JournalError, match="no journal entry and differs"):
        Journal(node).sweep()
    assert backup_path(MANIFEST) in node.files


# --- the lab's order, and kill -9 at every point, replayed --------------------------------------
class LabNode(FakeNode):
    """Adds what Lab.inject reads besides files: the sandbox before, the unit's invocation, the time."""

    def crictl(self, args, timeout=30):
        from breakfix.node import Result
        return Result(0, json.dumps({"items": [{"metadata": {"uid": "uid-before"}, "state": "SANDBOX_READY",
                                                "createdAt": "1"}]}), "")

    def check(self, cmd, timeout=None, what=None):
        if "date +%s%N" in cmd:
            return "1767225600000000000\n"
        return "invocation-1\n" if "InvocationID" in cmd else ""

    def now(self):
        return "2026-01-01 00:00:00"


KUBELET_CONF = "/etc/kubernetes/kubelet.conf"
FAULTS = {
    "manifest": Fault("demo", "kube-scheduler", "demo", "critical", target("manifest", path="kube-scheduler.yaml"),
                      ({"op": "set_command", "value": "nope"},), ({"kind": "pod_not_scheduled"},), "f", "r"),
    "file": Fault("demo", "kubelet", "demo", "critical", target("file", path=KUBELET_CONF, unit="kubelet"),
                  ({"op": "set_field", "path": "kind", "value": "Nope"},), ({"kind": "node_not_ready"},), "f", "r"),
    "service": Fault("demo", "kubelet", "demo", "critical", target("service", unit="kubelet", action="stop"),
                     (), ({"kind": "node_not_ready"},), "f", "r"),
}


def lab_on(node) -> Lab:
    lab = Lab(kube=None, node=node, node_name="n1")
    lab._took_effect = lambda inj: None          # proof of effect needs a kubelet: e2e
    lab.wait_recovered = lambda inj: None
    return lab


def test_inject_order_is_backup_journal_register_write():
    node = LabNode({MANIFEST: ORIGINAL})
    lab_on(node).inject(FAULTS["manifest"], register=lambda fn: node.calls.append(("register",)))
    seq = [(c[0], c[-1]) for c in node.calls if c[0] in ("copy_file", "write_atomic", "register")]
    assert seq == [("copy_file", backup_path(MANIFEST)), ("write_atomic", journal_path("demo")),
                   ("register", "register"), ("write_atomic", MANIFEST)]
    assert node.files[MANIFEST][0] != ORIGINAL


class Killed(BaseException):
    pass


KILL_CASES = [(kind, point) for kind in FAULTS for point in killpoints.POINTS
              if not (kind == "service" and point in ("after-backup", "during-write"))
              and not (kind != "file" and point == "during-unit-restart")]


@pytest.mark.parametrize("kind,point", KILL_CASES, ids=[f"{k}-{p}" for k, p in KILL_CASES])
def test_kill_at_every_point_then_replay_restores_everything(monkeypatch, kind, point):
    node = LabNode({MANIFEST: ORIGINAL, KUBELET_CONF: b"kind: Config\n"})
    before = {p: node.files[p] for p in node.files}
    monkeypatch.setenv(killpoints.ENV, point)
    monkeypatch.setattr(killpoints.os, "kill", lambda pid, sig: (_ for _ in ()).throw(Killed()))
    monkeypatch.setattr("breakfix.symptoms.check", lambda lab, inj, spec: "seen")   # symptoms need a cluster
    lab = lab_on(node)
    with pytest.raises(Killed):
        inj = lab.inject(FAULTS[kind], register=lambda fn: None)
        lab.observe(inj)
        lab.restore(inj, wait=False)
    monkeypatch.delenv(killpoints.ENV)
    lab_on(node).restore_leftovers(wait=False)       # what the next run / `breakfix restore` does
    assert node.files == before
    assert node.units["kubelet"] == "active"
