"""The GitHub workflow (.github/workflows/conformance.yml) splits the catalog into slices, one runner
and one kind cluster each: its matrix must name every slice 1..SHARDS, and those slices (fixtures/shard.py,
the same function the suite uses) must cover every fault and lab test of each shape exactly once."""
from __future__ import annotations

from pathlib import Path

import yaml

from breakfix.catalog import load_catalog
from breakfix.labs import load_labs
from fixtures.shard import slice_of

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "conformance.yml"


def test_matrix_slices_cover_the_catalog_exactly_once():
    wf = yaml.safe_load(WORKFLOW.read_text())
    n = int(wf["env"]["SHARDS"])
    matrix = wf["jobs"]["conformance"]["strategy"]["matrix"]
    assert sorted(matrix["shard"]) == list(range(1, n + 1)), matrix["shard"]
    shapes = {p.stem for p in (ROOT / "clusters").glob("*.yaml")}
    assert set(matrix["shape"]) <= shapes | {"single"}, matrix["shape"]
    ids = [f"suites/test_faults.py::test_fault[{f}]" for f in load_catalog()] + \
          [f"suites/test_labs.py::test_lab[{lab}]" for lab in load_labs(load_catalog())]
    slices = [slice_of(ids, i, n) for i in matrix["shard"]]
    assert sum(len(s) for s in slices) == len(ids), "a test is in two slices"
    assert set().union(*slices) == set(ids), "a test is in no slice"


def test_every_lab_is_replayed_by_a_shape_of_the_matrix():
    """The matrix's runs skip a lab of another shape (--no-lab-clusters): every lab must fit one of
    its shapes (labs.Lab.fits), or no run replays it."""
    wf = yaml.safe_load(WORKFLOW.read_text())
    job = wf["jobs"]["conformance"]
    run = next(st["run"] for st in job["steps"] if "make conformance" in str(st.get("run", "")))
    assert "--no-lab-clusters" in run
    shapes = job["strategy"]["matrix"]["shape"]
    for lab in load_labs(load_catalog()).values():
        assert [s for s in shapes if lab.fits(s)], f"lab {lab.id} fits no shape of the matrix ({shapes})"
