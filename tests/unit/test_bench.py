"""make bench's output: the ratio per fault, the table and the chart, from measured phases."""
import xml.etree.ElementTree as ET

from breakfix import bench


def test_rows_table_and_chart():
    class F:
        id, component = "demo-fault", "kube-scheduler"
    floor = bench.Cycle({"break": 2.0, "symptoms": 10.0, "fix": 20.0, "verify": 1.0})
    suite = bench.Cycle({"settle": 0.1, "break": 2.0, "symptoms": 15.0, "fix": 20.0, "verify": 5.0})
    row = bench.row(F, floor, suite)
    assert row["ratio"] == round(42.1 / 33.0, 2) and row["suite"]["total"] == 42.1
    data = bench.summary([row], {"hold_seconds": 5.0}, 100.0, {"kubernetes": "v1.34.4"})
    assert data["median_suite_seconds"] == 42.1 and data["suite_catalog_seconds"] == 42.1
    assert data["floor_catalog_seconds"] == 33.0 and data["within_ratio"] == {"ratio": 1.3, "faults": 1, "of": 1}
    assert "| demo-fault | 33.0 | 42.1 | 1.28× |" in bench.markdown(data)
    svg = ET.fromstring(bench.svg(data))          # well-formed, one bar segment per measured phase
    rects = [e for e in svg.iter() if e.tag.endswith("rect") and e.find("{http://www.w3.org/2000/svg}title") is not None]
    assert len(rects) == len(floor.phases) + len(suite.phases)
