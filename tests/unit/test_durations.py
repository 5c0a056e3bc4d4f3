"""Stored durations (breakfix/durations.py) and the longest-first order they give under -n N
(fixtures/order.py)."""
import json
from types import SimpleNamespace

import pytest

from breakfix import durations
from breakfix.errors import BadInput
from fixtures import order

F = "suites/test_faults.py::test_fault[{}]"
LAB = "suites/test_labs.py::test_lab[control-plane-failure]"
GRADE = "suites/test_grading.py::test_cluster_grades_clean"

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="4">
<testcase classname="suites.test_faults" name="test_fault[a]" time="61.234" />
<testcase classname="suites.test_faults" name="test_fault[b]" time="12.0"><failure message="x">x</failure></testcase>
<testcase classname="suites.test_faults" name="test_fault[ha-x]" time="0.01"><skipped message="shape" /></testcase>
<testcase classname="suites.test_labs" name="test_lab[control-plane-failure]" time="212.5" />
</testsuite></testsuites>"""


def test_longest_first_and_ties_keep_the_collected_order():
    ids = [F.format("a"), F.format("b"), LAB, F.format("c"), GRADE]
    stored = {F.format("a"): 60, F.format("b"): 30, LAB: 300, F.format("c"): 60, GRADE: 5}
    assert durations.longest_first(ids, stored) == [LAB, F.format("a"), F.format("c"), F.format("b"), GRADE]


def test_an_unknown_test_is_expected_to_take_the_median():
    ids = [F.format("short"), F.format("new"), F.format("mid"), F.format("long")]
    stored = {F.format("short"): 10, F.format("mid"): 50, F.format("long"): 200}
    assert durations.expected(ids, stored)[F.format("new")] == 50
    assert durations.longest_first(ids, stored) == [F.format("long"), F.format("new"), F.format("mid"),
                                                    F.format("short")]


def test_nothing_stored_keeps_the_collected_order():
    ids = [F.format("b"), F.format("a"), LAB]
    assert durations.longest_first(ids, {}) == ids


def test_from_junit_keeps_what_ran_with_its_node_id(tmp_path):
    (tmp_path / "j.xml").write_text(JUNIT)
    assert durations.from_junit(tmp_path / "j.xml") == {F.format("a"): 61.2, F.format("b"): 12.0, LAB: 212.5}


def test_main_merges_a_partial_run_into_the_stored_file(tmp_path):
    out = tmp_path / "durations.json"
    out.write_text(json.dumps({"tests": {F.format("a"): 99.0, F.format("old"): 40.0}}))
    (tmp_path / "j.xml").write_text(JUNIT)
    assert durations.main([str(tmp_path / "j.xml"), "--out", str(out)]) == 0
    assert durations.load(out) == {F.format("a"): 61.2, F.format("b"): 12.0, LAB: 212.5, F.format("old"): 40.0}


@pytest.mark.parametrize("text", ["not json", "[]", '{"tests": {"x": -1}}', '{"tests": {"x": "slow"}}'])
def test_a_malformed_durations_file_is_bad_input(tmp_path, text):
    (tmp_path / "d.json").write_text(text)
    with pytest.raises(BadInput):
        durations.load(tmp_path / "d.json")


def test_no_file_is_no_durations(tmp_path):
    assert durations.load(tmp_path / "absent.json") == {}


def test_a_report_without_tests_changes_nothing(tmp_path, capsys):
    (tmp_path / "j.xml").write_text('<testsuites><testsuite name="pytest" tests="0"/></testsuites>')
    out = tmp_path / "durations.json"
    assert durations.main([str(tmp_path / "j.xml"), "--out", str(out)]) == 2
    assert not out.exists()
    assert "no test ran" in capsys.readouterr().err


def _items(*ids):
    return [SimpleNamespace(nodeid=i) for i in ids]


def test_workers_hand_out_the_longest_first_one_cluster_keeps_the_catalog_order():
    stored = {F.format("a"): 60, LAB: 300, GRADE: 5}
    ids = [F.format("a"), GRADE, LAB]
    worker = SimpleNamespace(workerinput={"workerid": "gw1"}, _breakfix_durations=stored)
    items = _items(*ids)
    order.pytest_collection_modifyitems(None, worker, items)
    assert [i.nodeid for i in items] == [LAB, F.format("a"), GRADE]
    alone = SimpleNamespace(_breakfix_durations=stored)
    items = _items(*ids)
    order.pytest_collection_modifyitems(None, alone, items)
    assert [i.nodeid for i in items] == ids


def test_the_stored_file_is_well_formed_and_knows_every_lab():
    stored = durations.load()
    assert stored, "reports/durations.json is missing"
    assert any("test_lab[" in n for n in stored)
