"""Stored test durations, and the longest-first order they give a run on several clusters.

Under `-n N` (pytest-xdist, one kind cluster per worker) the workers take the tests in the order
they were collected. In the catalog's order the two labs (5 minutes each) came last and one worker
sat idle for the last five minutes of the run. Handing out the longest tests first (the classic
longest-processing-time rule) leaves only short tests for the end. The expected durations are
measured, not guessed: reports/durations.json holds the seconds of each test of a whole run, taken
from its JUnit XML (`python -m breakfix.durations reports/junit.xml`, `make durations`). A test the
file does not know (a new fault) is expected to take the median of those it knows."""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Sequence

from .errors import BadInput

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "reports" / "durations.json"


def load(path: Path = DEFAULT_FILE) -> dict[str, float]:
    """nodeid -> seconds; {} when the file is absent. A malformed file is BadInput."""
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: not a durations file ({exc})") from None
    tests = raw.get("tests") if isinstance(raw, dict) else None
    if not isinstance(tests, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and v >= 0 for k, v in tests.items()):
        raise BadInput(f"{path}: expected {{\"tests\": {{nodeid: seconds >= 0}}}}")
    return {k: float(v) for k, v in tests.items()}


def expected(nodeids: Sequence[str], durations: dict[str, float]) -> dict[str, float]:
    """Each id's expected seconds: its stored duration, else the median of the stored ones (0 when
    none is stored, which keeps the collected order)."""
    known = [durations[n] for n in nodeids if n in durations]
    fallback = statistics.median(known) if known else 0.0
    return {n: durations.get(n, fallback) for n in nodeids}


def longest_first(nodeids: Sequence[str], durations: dict[str, float]) -> list[str]:
    """The ids, longest expected first; equal ones keep their collected order."""
    exp = expected(nodeids, durations)
    return [n for _, n in sorted(enumerate(nodeids), key=lambda p: (-exp[p[1]], p[0]))]


def from_junit(path: Path) -> dict[str, float]:
    """nodeid -> seconds (setup, call and teardown) of every test that ran (passed or failed) in a
    JUnit XML report; skipped tests are left out (they say nothing about how long a test takes)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise BadInput(f"{path}: not a JUnit XML report ({exc})") from None
    out = {}
    for case in root.iter("testcase"):
        if case.find("skipped") is not None:
            continue
        cls, name, secs = case.get("classname", ""), case.get("name", ""), case.get("time")
        if not (cls and name and secs):
            continue
        *pkg, mod = cls.split(".")
        # pytest writes "suites.test_faults" for suites/test_faults.py (a class would add a part;
        # the suite has none).
        out["/".join(pkg + [mod]) + ".py::" + name] = round(float(secs), 1)
    return out


def merged(old: dict[str, float], new: dict[str, float]) -> dict[str, float]:
    """The stored durations with NEW's measurements replacing OLD's; tests NEW did not run keep
    their old value (a partial run updates what it measured)."""
    return dict(sorted({**old, **new}.items()))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m breakfix.durations",
                                description="update the stored test durations from a run's JUnit XML")
    p.add_argument("junit", type=Path, help="the run's JUnit XML (reports/junit.xml)")
    p.add_argument("--out", type=Path, default=DEFAULT_FILE, help=f"durations file (default {DEFAULT_FILE})")
    a = p.parse_args(argv)
    try:
        new = from_junit(a.junit)
        if not new:
            raise BadInput(f"{a.junit}: no test ran in it; nothing to store")
        old = load(a.out)
    except BadInput as exc:
        print(f"kube-breakfix: {exc}", file=sys.stderr)
        return 2
    stored = merged(old, new)
    a.out.write_text(json.dumps({"how": "python -m breakfix.durations reports/junit.xml (make durations)",
                                 "tests": stored}, indent=1) + "\n")
    print(f"{a.out}: {len(new)} measured, {len(stored)} stored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
