"""The header's lines follow what the run selects: the labs' clusters only when suites/test_labs.py runs."""
from types import SimpleNamespace as NS

import pytest

from breakfix.pytest_options import ROOT, _runs_suite


def config(*args):
    return NS(args_source=pytest.Config.ArgsSource.ARGS, args=list(args), invocation_params=NS(dir=ROOT))


def test_a_run_of_the_fault_module_alone_replays_no_lab():
    c = config("suites/test_faults.py")
    assert _runs_suite(c) and not _runs_suite(c, "test_labs.py")


def test_the_suite_directory_or_the_labs_module_replays_labs():
    assert _runs_suite(config("suites"), "test_labs.py")
    assert _runs_suite(config("suites/test_labs.py::test_lab"), "test_labs.py")
    assert not _runs_suite(config("tests/unit"), "test_labs.py")
    bare = NS(args_source=pytest.Config.ArgsSource.TESTPATHS, args=[], invocation_params=NS(dir=ROOT))
    assert _runs_suite(bare, "test_labs.py")
