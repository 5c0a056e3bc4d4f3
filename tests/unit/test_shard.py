"""--shard I/N deals the tests out stably: every test in exactly one slice, the same on every run."""
import pytest

from breakfix.errors import BadInput
from fixtures.shard import parse_shard, slice_of

IDS = [f"suites/test_faults.py::test_fault[f{i:02d}]" for i in range(14)] + ["suites/test_grading.py::test_x"]


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_every_test_in_exactly_one_slice(n):
    slices = [slice_of(IDS, i, n) for i in range(1, n + 1)]
    assert set().union(*slices) == set(IDS)
    assert sum(len(s) for s in slices) == len(IDS)
    assert max(len(s) for s in slices) - min(len(s) for s in slices) <= 1


def test_slices_do_not_depend_on_collection_order():
    assert slice_of(IDS, 2, 3) == slice_of(list(reversed(IDS)), 2, 3)


@pytest.mark.parametrize("raw,want", [(None, None), ("1/1", (1, 1)), (" 2 / 3 ", (2, 3))])
def test_parse(raw, want):
    assert parse_shard(raw) == want


@pytest.mark.parametrize("raw", ["0/2", "3/2", "1/0", "a/b", "1-2", ""])
def test_parse_refuses(raw):
    with pytest.raises(BadInput):
        parse_shard(raw)
