"""`make bench`: per fault, on one cluster, the floor (the shortest honest script doing the same
thing: breakfix/bench.py) and the suite's own cycle, then a summary: reports/bench.json and
reports/bench.svg (also attached to this run's Allure report). A benchmark, not a timed test:
nothing here asserts a duration; the numbers go to docs/measurements.md."""
import json
import time
from pathlib import Path

import allure
import pytest

from breakfix import bench

pytestmark = [pytest.mark.e2e, pytest.mark.bench]

ROOT = Path(__file__).resolve().parents[2]
ROWS: list[dict] = []
STARTED = time.monotonic()


def test_bench(fault, writable_lab, restore_on_exit):
    lab = writable_lab
    allure.dynamic.title(f"bench: {fault.id}")
    base = lab.app_ready_replicas()[0]
    bench.tidy(lab, base)
    floor = bench.floor_cycle(bench.floor_lab(lab), fault, restore_on_exit)
    bench.tidy(lab, base)
    suite = bench.suite_cycle(lab, fault, restore_on_exit)
    ROWS.append(bench.row(fault, floor, suite))
    allure.attach(json.dumps(ROWS[-1], indent=2), name="floor vs suite", attachment_type=allure.attachment_type.JSON)
    print(f"\n{fault.id}: floor {floor.total:.1f} s {floor.phases}; suite {suite.total:.1f} s {suite.phases}")


@pytest.mark.after_all
def test_bench_summary(lab, cluster):
    if not ROWS:
        pytest.skip("no fault was measured")
    env = {"kubernetes": lab.kube.server_version(), "node_image": cluster.image or "(existing)"}
    data = bench.summary(ROWS, lab.calibration, time.monotonic() - STARTED, env)
    j, s = bench.write(data, ROOT / "reports")
    allure.attach(s.read_text(), name="floor vs suite per fault", attachment_type=allure.attachment_type.SVG)
    allure.attach(bench.markdown(data), name="table", attachment_type=allure.attachment_type.TEXT)
    print("\n" + bench.markdown(data))
    w = data["within_ratio"]
    print(f"median suite cycle {data['median_suite_seconds']} s (floor {data['median_floor_seconds']} s), "
          f"catalog {data['suite_catalog_seconds']} s (floors {data['floor_catalog_seconds']} s), "
          f"{w['faults']} of {w['of']} within {w['ratio']}x, wall {data['wall_seconds']} s -> {j}, {s}")
