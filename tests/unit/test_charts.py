"""The phase pictures (breakfix/charts.py) and the Markdown of remediation texts (breakfix/report.py)."""
import xml.etree.ElementTree as ET

from breakfix.catalog import load_catalog
from breakfix.charts import overview_svg, phase_svg
from breakfix.report import Reporter, fault_description, markdown_paragraphs, markdown_text

NS = "{http://www.w3.org/2000/svg}"


def test_phase_picture_is_svg_with_a_bar_per_phase_at_its_time():
    rows = [{"name": "inject->took effect", "start": 0.0, "seconds": 4.0},
            {"name": "inject->symptoms", "start": 0.0, "seconds": 30.0},
            {"name": "fix->recovered", "start": 31.0, "seconds": 20.5}]
    root = ET.fromstring(phase_svg(rows, "demo: phases (s)"))
    bars = [r for r in root.iter(f"{NS}rect")]
    assert len(bars) == 3
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "break -> took effect" in texts and "fix -> recovered" in texts and "20.5 s" in texts
    x = [float(b.get("x")) for b in bars]
    assert x[0] == x[1] < x[2]     # the fix starts after the symptoms


def test_overview_has_a_row_per_test_and_a_legend():
    root = ET.fromstring(overview_svg({"a-fault": [{"name": "settle", "start": 0, "seconds": 3}],
                                       "b-fault": [{"name": "fix->recovered", "start": 0, "seconds": 9}]}))
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert {"a-fault", "b-fault", "control plane settles", "fix -> recovered"} <= set(texts)


def test_reporter_phases_since_gives_starts_relative_to_the_test():
    rep = Reporter()
    t0 = rep.events[0]["end"] if rep.events else None
    rep.timing("settle", 0.0)
    t0 = rep.events[0]["end"]
    rep.timing("fix->recovered", 0.0)
    [row] = rep.phases_since(t0, 1)
    assert row["name"] == "fix->recovered" and row["start"] >= 0


def test_remediation_keeps_its_line_breaks_as_markdown():
    assert markdown_text("one\ntwo\n\nthree\n") == "one  \ntwo\n\nthree"


def test_paragraphs_join_their_lines_and_keep_list_items():
    assert markdown_paragraphs("one\ntwo\n\n- a\n  b\n- c\n1. d\n") == "one two\n\n- a b\n- c\n1. d"


def test_fault_description_is_markdown_with_headings_and_lists():
    f = load_catalog()["scheduler-command-typo"]
    d = fault_description(f)
    assert d.startswith("## Fault `scheduler-command-typo`\n\n- **Component:** kube-scheduler\n")
    for heading in ("## Symptoms it must show", "## Fix", "## Remediation"):
        assert f"\n\n{heading}\n\n" in d
    assert "\n- `" in d.split("## Symptoms it must show")[1]
    assert ("Pods stay Pending and nothing is assigned a node: the scheduler is not running. `kubectl -n "
            "kube-system describe pod kube-scheduler-<node>` shows") in d
