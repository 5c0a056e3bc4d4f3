"""`make bench`: per fault, on one cluster per worker, the floor at the kubelet's pace and at the
driven pace (the shortest honest script doing the same thing: breakfix/bench.py), then the suite's
own cycle at the run's --pace. Each fault's row is appended to the rows file (--bench-rows); `make
bench` then writes reports/bench.json, reports/bench.svg and the table from it. A benchmark, not a
timed test: nothing here asserts a duration; the numbers go to docs/measurements.md."""
import json
from pathlib import Path

import allure
import pytest

from breakfix import bench

pytestmark = [pytest.mark.e2e, pytest.mark.bench]

ROOT = Path(__file__).resolve().parents[2]


def test_bench(fault, writable_lab, restore_on_exit, cluster, request):
    lab = writable_lab
    allure.dynamic.title(f"bench: {fault.id}")
    base = lab.app_ready_replicas()[0]
    floors = {}
    for pace in bench.FLOOR_PACES:
        bench.tidy(lab, base)
        floors[pace] = bench.floor_cycle(bench.floor_lab(lab, pace), fault, restore_on_exit)
    bench.tidy(lab, base)
    suite = bench.suite_cycle(lab, fault, restore_on_exit)
    row = bench.row(fault, floors, suite, lab.pace.name)
    allure.attach(json.dumps(row, indent=2), name="floors and suite", attachment_type=allure.attachment_type.JSON)
    env = {"kubernetes": lab.kube.server_version(), "node_image": cluster.image or "(existing)",
           "calibration": lab.calibration}
    bench.append_row(ROOT / request.config.getoption("bench_rows"), {**row, **env})
    print(f"\n{fault.id}: " + "; ".join(f"floor ({p}) {c.total:.1f} s {c.phases}" for p, c in floors.items())
          + f"; suite ({lab.pace.name}) {suite.total:.1f} s {suite.phases}")
