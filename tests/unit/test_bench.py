"""make bench's output: the ratio per fault, the table and the chart, from measured phases; the rows
file several workers append to."""
import json
import xml.etree.ElementTree as ET

from breakfix import bench


class F:
    id, component = "demo-fault", "kube-scheduler"


def _row():
    kubelet = bench.Cycle({"break": 30.0, "symptoms": 10.0, "fix": 40.0, "verify": 1.0})
    driven = bench.Cycle({"break": 2.0, "symptoms": 10.0, "fix": 20.0, "verify": 1.0})
    suite = bench.Cycle({"settle": 0.1, "break": 2.0, "symptoms": 15.0, "fix": 20.0, "verify": 5.0})
    return bench.row(F, {"kubelet": kubelet, "driven": driven}, suite, "driven")


def test_rows_table_and_chart():
    row = _row()
    assert row["ratio"] == round(42.1 / 33.0, 2) and row["suite"]["total"] == 42.1
    assert row["floor"]["total"] == 33.0 and row["floors"]["kubelet"]["total"] == 81.0
    data = bench.summary([row], {"hold_seconds": 5.0}, 100.0, {"kubernetes": "v1.34.4"})
    assert data["median_suite_seconds"] == 42.1 and data["suite_catalog_seconds"] == 42.1
    assert data["floor_catalog_seconds"] == 33.0 and data["within_ratio"] == {"ratio": 1.3, "faults": 1, "of": 1}
    assert data["median_floor_seconds_by_pace"] == {"driven": 33.0, "kubelet": 81.0}
    assert "| demo-fault | 81.0 | 33.0 | 42.1 | 1.28× |" in bench.markdown(data)
    svg = ET.fromstring(bench.svg(data))          # well-formed, one bar segment per measured phase
    rects = [e for e in svg.iter() if e.tag.endswith("rect") and e.find("{http://www.w3.org/2000/svg}title") is not None]
    assert len(rects) == 4 + 4 + 5


def test_rows_file_to_summary(tmp_path, capsys):
    rows = tmp_path / "rows.jsonl"
    for fid in ("b-fault", "a-fault"):
        bench.append_row(rows, {**_row(), "id": fid, "kubernetes": "v1.34.4", "node_image": "img",
                                "calibration": {"hold_seconds": 5.0}})
    assert bench.main([str(rows), str(tmp_path / "out"), "77"]) == 0
    data = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert [r["id"] for r in data["faults"]] == ["a-fault", "b-fault"]      # sorted, whichever worker wrote first
    assert data["machine"]["kubernetes"] == "v1.34.4" and data["wall_seconds"] == 77.0
    assert "kubernetes" not in data["faults"][0] and data["calibration"] == {"hold_seconds": 5.0}
    assert "| a-fault | 81.0 | 33.0 |" in capsys.readouterr().out


def test_no_rows_is_an_error(tmp_path, capsys):
    assert bench.main([str(tmp_path / "none.jsonl"), str(tmp_path)]) == 1
    assert "no fault was measured" in capsys.readouterr().err
