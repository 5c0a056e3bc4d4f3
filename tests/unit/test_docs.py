"""docs/faults.md is what `make docs` generates from faults/*.yaml (breakfix/docs.py), and
`python -m breakfix.docs --check` says so with its exit status and one line."""
from pathlib import Path

from breakfix import docs
from breakfix.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]


def test_committed_faults_doc_equals_the_generated_one():
    committed = (ROOT / "docs" / "faults.md").read_text(encoding="utf-8")
    assert committed == docs.generate(), "run `make docs` and commit docs/faults.md"


def test_every_fault_has_one_row_with_its_columns():
    faults = load_catalog()
    text = docs.render(faults)
    lines = text.splitlines()
    assert "| id | component | target kind | severity | title | shapes |" in lines
    for f in faults.values():
        rows = [line for line in lines if line.startswith(f"| `{f.id}` | {f.component} |")]
        assert len(rows) == 1, f.id
        assert f"| {f.target.kind} | {f.severity} |" in rows[0]
        assert rows[0].endswith(f"| {', '.join(f.shapes)} |")


def test_cells_stay_on_one_line_and_escape_pipes():
    assert docs.cell("a |b\n  c") == "a \\|b c"
    assert docs.cell(["single", "ha"]) == "single, ha"
    assert docs.cell(None) == ""


def test_check_exits_1_with_one_line_when_stale(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "faults.md"
    stale.write_text("# old\n", encoding="utf-8")
    monkeypatch.setattr(docs, "FAULTS_DOC", stale)
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    assert docs.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "make docs" in err
    assert docs.main([]) == 0
    assert stale.read_text(encoding="utf-8") == docs.generate()
    assert docs.main(["--check"]) == 0


def test_check_on_a_missing_file_is_stale(tmp_path, monkeypatch):
    monkeypatch.setattr(docs, "FAULTS_DOC", tmp_path / "docs" / "faults.md")
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    assert docs.main(["--check"]) == 1
