"""A journal entry is read by its target kind's record (targets_spec.TARGET_KINDS[kind].journal): an
unknown kind, a record missing what its kind's undo needs or a field of another kind is one JournalError
line and nothing is restored; an entry in the layout older versions wrote (all fields, `kind: null`)
reads and replays as before."""
import dataclasses
import hashlib
import json

import pytest

from breakfix import targets
from breakfix.journal import LAYOUT, Entry, Journal, JournalError, backup_path, journal_path, parse_entry
from breakfix.targets_spec import TARGET_KINDS, JournalRecord

from .fakenode import FakeNode
from .test_journal import lab_on

MANIFEST = "/etc/kubernetes/manifests/kube-scheduler.yaml"
ORIGINAL = b"apiVersion: v1\nkind: Pod\n"
SHA = hashlib.sha256(ORIGINAL).hexdigest()
WHERE = journal_path("demo")


def on_disk(**fields) -> bytes:
    """An entry as the layout writes it: every field, null when not given."""
    return json.dumps({**dict.fromkeys(LAYOUT), "fault": "demo", **fields}).encode()


def broken_node(raw: bytes) -> FakeNode:
    return FakeNode({MANIFEST: b"broken", backup_path(MANIFEST): ORIGINAL, WHERE: raw})


def test_every_kind_has_a_record_type():
    for kind, spec in TARGET_KINDS.items():
        assert issubclass(spec.journal, JournalRecord) and dataclasses.is_dataclass(spec.journal), kind


@pytest.mark.parametrize("raw,match", [
    (on_disk(kind="nope", path=MANIFEST), "unknown target kind 'nope'"),
    (on_disk(kind=7), "unknown target kind 7"),
    (on_disk(kind="manifest", path=MANIFEST, backup=backup_path(MANIFEST)), "needs path, backup and sha256"),
    (on_disk(kind="certificate", backup=backup_path(MANIFEST), sha256=SHA), "needs path, backup and sha256"),
    (on_disk(kind="service"), "service entry needs start_unit"),
    (on_disk(kind="file_created", path=MANIFEST), "created file needs path and created"),
    (on_disk(kind="api_object", objects={}), "API object entry needs objects"),
    (on_disk(kind="host_container"), "host container entry needs container"),
    (on_disk(kind="file_created", path=MANIFEST, created=SHA, backup=backup_path(MANIFEST)),
     "field 'backup' is not one of a file_created entry's"),
    (on_disk(kind="service", start_unit="kubelet", objects={"configmap/a/b": {}}),
     "field 'objects' is not one of a service entry's"),
    (on_disk(kind="service", start_unit=["kubelet"]), "field 'start_unit' must be a string, got list"),
])
def test_an_entry_its_kind_cannot_replay_is_one_line_and_nothing_is_restored(raw, match):
    node = broken_node(raw)
    before = dict(node.files)
    with pytest.raises(JournalError, match=match) as exc:
        lab_on(node).restore_leftovers(wait=False)
    msg = str(exc.value)
    assert "\n" not in msg and WHERE in msg and "nothing was restored" in msg
    assert node.files == before                    # the file still broken, the backup and the journal kept


def test_an_entry_of_the_older_layout_without_kind_replays_by_its_fields():
    node = broken_node(on_disk(path=MANIFEST, backup=backup_path(MANIFEST), sha256=SHA, mode="600",
                               restart_unit="kubelet"))
    node.units["kubelet"] = "failed"
    (e,) = Journal(node).entries()
    assert e.kind is None and e.target_kind == "file" and e.what() == MANIFEST
    assert lab_on(node).restore_leftovers(wait=False) == ["demo"]
    assert node.files == {MANIFEST: (ORIGINAL, "600")} and node.units["kubelet"] == "active"


def test_an_older_service_entry_starts_its_unit():
    node = FakeNode({WHERE: on_disk(start_unit="kubelet")})
    node.units["kubelet"] = "inactive"
    (e,) = Journal(node).entries()
    assert e.target_kind == "service" and e.what() == "systemctl start kubelet"
    targets.replay(Journal(node), e)
    assert node.units["kubelet"] == "active" and WHERE not in node.files


@pytest.mark.parametrize("kind,fields", [
    ("manifest", {"path": MANIFEST, "backup": backup_path(MANIFEST), "sha256": SHA, "mode": "600"}),
    ("file", {"path": MANIFEST, "backup": backup_path(MANIFEST), "sha256": SHA, "mode": "600",
              "restart_static_pod": "kube-scheduler"}),
    ("service", {"start_unit": "kubelet"}),
    ("file_created", {"path": MANIFEST + ".bak", "created": SHA}),
    ("api_object", {"objects": {"configmap/a/b": {"/data": {"k": "v"}, "/x": None}}}),
    ("host_container", {"container": "c-external-load-balancer"}),
])
def test_written_as_older_versions_wrote_and_read_back_the_same(kind, fields):
    raw = on_disk(kind=kind, **fields)
    e = parse_entry(raw, WHERE)
    assert type(e.record) is TARGET_KINDS[kind].journal and e == Entry("demo", kind, **fields)
    assert json.dumps(e.as_dict()).encode() == raw and list(e.as_dict()) == list(LAYOUT)


def test_an_entry_its_kind_cannot_replay_is_not_written():
    node = FakeNode()
    with pytest.raises(JournalError, match="incomplete .*needs objects.*nothing changed"):
        Journal(node).record(Entry(fault="demo", kind="api_object"))
    assert WHERE not in node.files


def test_a_record_missing_from_a_kind_is_refused_at_construction():
    with pytest.raises(TypeError):
        Entry(fault="demo", kind="service", path=MANIFEST)
