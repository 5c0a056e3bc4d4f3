from pathlib import Path

import pytest

from breakfix.catalog import COMPONENTS, load_catalog, load_file, select
from breakfix.errors import FaultFileError, UnknownFault
from breakfix.symptoms import CHECKS, SYMPTOM_KINDS

from .samples import DEMO_FAULT, write

VALID = DEMO_FAULT



def test_shipped_catalog_is_valid_and_covers_every_component():
    faults = load_catalog()
    assert len(faults) >= 12
    assert {f.component for f in faults.values()} == set(COMPONENTS)
    refs = sorted(f.reference_lab for f in faults.values() if f.reference_lab)
    assert refs == [1, 2, 3]
    for f in faults.values():
        assert f.remediation and f.fix


def test_every_symptom_kind_has_a_check():
    assert set(CHECKS) == set(SYMPTOM_KINDS)


def test_valid_file_loads(tmp_path):
    f = load_file(write(tmp_path, VALID))
    assert f.id == "demo-fault" and f.target.path == "kube-scheduler.yaml"
    assert (f.verify_scale, f.verify_on_node) == (1, False)
    f = load_file(write(tmp_path, VALID + "verify: {scale: 2, on_node: true}\n"))
    assert (f.verify_scale, f.verify_on_node) == (2, True)


@pytest.mark.parametrize("old,new,field", [
    ("component: kube-scheduler", "component: kube-schedulerr", "component"),
    ("  - {kind: pod_not_scheduled}", "  - {kind: teleported}", "symptoms[0].kind"),
    ("  - {op: set_command, value: nope}", "  - {op: set_command}", "edits[0].value"),
    ("  - {op: set_command, value: nope}", "  - {op: sed, value: nope}", "edits[0].op"),
    ("path: kube-scheduler.yaml", "path: /etc/kubernetes/manifests/kube-scheduler.yaml", "target.path"),
    ("fix: put it back\n", "", "fix"),
    ("title: demo", "title: demo\ncolour: red", "colour"),
    ("  - {kind: pod_not_scheduled}", "  - {kind: pod_not_scheduled, hold: soon}", "symptoms[0].hold"),
    ("kind: manifest", "kind: teleport", "target.kind"),
    ("kind: manifest", "kind: service", "target.unit"),
    ("component: kube-scheduler", "component: etcd", "target.path"),
    ("id: demo-fault", "id: Demo_Fault", "id"),
    ("fix: put it back\n", "fix: put it back\nverify: {on_node: yes please}\n", "verify.on_node"),
])
def test_invalid_files_name_file_and_field(tmp_path, old, new, field):
    p = write(tmp_path, VALID.replace(old, new))
    with pytest.raises(FaultFileError) as e:
        load_file(p)
    msg = str(e.value)
    assert str(p) in msg and f"field '{field}'" in msg
    assert "\n" not in msg


def test_bad_yaml_and_id_mismatch(tmp_path):
    with pytest.raises(FaultFileError, match="not valid YAML"):
        load_file(write(tmp_path, "id: [unclosed"))
    with pytest.raises(FaultFileError, match="must match the file name"):
        load_file(write(tmp_path, VALID, name="other-name.yaml"))


def test_duplicate_ids_refused(tmp_path):
    write(tmp_path, VALID)
    write(tmp_path, VALID.replace("id: demo-fault", "id: demo-fault"), name="demo-fault.yml")
    with pytest.raises(FaultFileError, match="duplicate id"):
        load_catalog(tmp_path)


def test_select_by_id_and_component():
    faults = load_catalog()
    assert [f.id for f in select(faults, ["scheduler-command-typo"])] == ["scheduler-command-typo"]
    assert all(f.component == "kubelet" for f in select(faults, component="kubelet"))
    with pytest.raises(UnknownFault, match="unknown fault 'nope'"):
        select(faults, ["nope"])
    with pytest.raises(UnknownFault):
        select(faults, component="kube-dns")


def test_suite_refuses_a_malformed_catalog_with_one_line(tmp_path):
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[2]
    write(tmp_path, VALID.replace("  - {kind: pod_not_scheduled}", "  - {kind: teleported}"))
    r = subprocess.run([sys.executable, "-m", "pytest", "suites", f"--faults-dir={tmp_path}", "-q"],
                       cwd=root, capture_output=True, text=True, timeout=120)
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert r.returncode == 2, r.stdout + r.stderr
    assert len(lines) == 1 and lines[0].startswith("Exit: kube-breakfix: ") and "field 'symptoms[0].kind'" in lines[0]


def test_list_faults_with_a_bad_catalog_is_one_line(tmp_path):
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-m", "pytest", "--list-faults", f"--faults-dir={tmp_path / 'nope'}"],
                       cwd=root, capture_output=True, text=True, timeout=120)
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "fault catalog directory not found" in lines[0], lines


@pytest.mark.parametrize("old,new,reason", [
    ("kind: manifest", "kind: teleport", "unknown target kind 'teleport'"),
    ("kind: manifest", "kind: service", "is required by a service target"),
    ("  - {op: set_command, value: nope}", "  - {op: set_command}", "is required by op set_command"),
    ("component: kube-scheduler", "component: kubelet", "component kubelet has no static pod manifest"),
])
def test_the_model_is_the_one_place_of_the_rules(tmp_path, old, new, reason):
    """catalog.py only loads: the reasons come from the model (models.FaultFile) and the target kinds'
    own rules (targets_spec.TARGET_KINDS), the same for a fault file and a lab's inline fault."""
    from breakfix.models import validate_fault
    import yaml
    data = yaml.safe_load(VALID.replace(old, new))
    with pytest.raises(FaultFileError) as e:
        validate_fault(data, tmp_path / "demo-fault.yaml")
    assert reason in str(e.value) and "\n" not in str(e.value)


def test_every_target_kind_is_in_the_schema():
    from breakfix.schemas import schemas
    from breakfix.targets_spec import TARGET_KINDS
    fault = schemas()["fault.json"]
    kinds = {d["properties"]["kind"]["const"] for name, d in fault["$defs"].items() if name.startswith("Target_")}
    assert kinds == set(TARGET_KINDS)
