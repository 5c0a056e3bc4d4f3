"""tests/unseen_faults: breaks the catalog (faults/) does not know, in the catalog's own format, so that
`breakfix break --faults-dir tests/unseen_faults ID` sets them up and tests/e2e/test_grader_unseen.py
can prove that `breakfix check` diagnoses them without the catalog. They are only useful if they
really are unseen: no id and no (component, edits) pair may also be in faults/."""
from __future__ import annotations

import json
from pathlib import Path

from breakfix.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
UNSEEN = ROOT / "tests" / "unseen_faults"


def _edits_key(fault) -> str:
    """The edits as one comparable value (order of keys in an edit does not matter)."""
    return json.dumps([dict(sorted(e.items())) for e in fault.edits], sort_keys=True)


def test_unseen_faults_load_with_the_catalog_loader():
    faults = load_catalog(UNSEEN)
    assert len(faults) >= 13, sorted(faults)
    assert len(list(UNSEEN.glob("*.yaml"))) == len(faults)
    for f in faults.values():
        assert f.title and f.fix and f.remediation and f.symptoms, f.id


def test_unseen_faults_are_not_in_the_catalog():
    unseen = load_catalog(UNSEEN)
    shipped = load_catalog()
    assert not set(unseen) & set(shipped), "an unseen fault id is also in faults/"
    shipped_pairs = {(f.component, _edits_key(f)): f.id for f in shipped.values()}
    for f in unseen.values():
        assert (f.component, _edits_key(f)) not in shipped_pairs, \
            f"{f.id} makes the same change as faults/{shipped_pairs[(f.component, _edits_key(f))]}.yaml"
    # Not even one edit of an unseen fault is an edit of a catalog fault of the same component: the
    # grader must not be able to name any of them from the catalog.
    shipped_edits = {(f.component, json.dumps(e, sort_keys=True)) for f in shipped.values() for e in f.edits}
    for f in unseen.values():
        for e in f.edits:
            assert (f.component, json.dumps(e, sort_keys=True)) not in shipped_edits, (f.id, e)


def test_unseen_faults_cover_every_component():
    unseen = load_catalog(UNSEEN)
    assert {f.component for f in unseen.values()} == {
        "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"}


def test_the_e2e_table_matches_the_fault_files():
    """Every case of tests/e2e/test_grader_unseen.py names unseen faults, their components, and the
    key and value their edits really set (the table is what the grader's diagnosis is held to)."""
    from tests.e2e import test_grader_unseen as e2e

    unseen = load_catalog(UNSEEN)
    assert len(e2e.CASES) >= 13
    covered = set()
    for case in e2e.CASES:
        assert case.roots == tuple(dict.fromkeys(case.roots)), case
        assert len(case.ids) == len(case.roots) == len(case.changes), case
        for fid, comp, (key, now) in zip(case.ids, case.roots, case.changes):
            covered.add(fid)
            f = unseen[fid]
            assert f.component == comp, (fid, comp)
            assert (key, now) in e2e.injected(f), (fid, key, now, e2e.injected(f))
        assert case.proof.strip(), case
    from tests.e2e import test_grader_running as running
    for case in running.CASES:
        f = unseen[case.fault]
        covered.add(case.fault)
        assert f.component == case.component, case
        if case.now is not None and case.file.startswith("/etc/kubernetes/manifests/"):
            assert (case.key, case.now) in e2e.injected(f), (case, e2e.injected(f))
    assert covered == set(unseen), f"faults without an e2e case: {sorted(set(unseen) - covered)}"
    assert any(len(c.ids) > 1 for c in e2e.CASES), "no two-faults-at-once case"
