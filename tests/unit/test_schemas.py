"""The published JSON Schemas (schemas/fault.json, schemas/lab.json) are what the pydantic models
give (`make schemas` regenerates them), and a standard JSON Schema validator - what an editor's YAML
language server runs - accepts every shipped fault and lab and refuses what the catalog refuses."""
import json
from pathlib import Path

import jsonschema
import pytest
import referencing
import yaml

from breakfix.schemas import SCHEMA_DIR, render, schemas, stale_schemas

ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_schemas_equal_the_generated_ones():
    assert stale_schemas() == [], "run `make schemas` and commit schemas/"
    for name, schema in schemas().items():
        assert (SCHEMA_DIR / name).read_text() == render(schema)


def validator(name: str):
    docs = {n: json.loads((SCHEMA_DIR / n).read_text()) for n in ("fault.json", "lab.json")}
    registry = referencing.Registry().with_resources(
        [(d["$id"], referencing.Resource.from_contents(d)) for d in docs.values()])
    cls = jsonschema.validators.validator_for(docs[name])
    cls.check_schema(docs[name])
    return cls(docs[name], registry=registry)


@pytest.mark.parametrize("path", sorted((ROOT / "faults").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_fault_is_valid_against_the_schema(path):
    errors = list(validator("fault.json").iter_errors(yaml.safe_load(path.read_text())))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("path", sorted((ROOT / "labs").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_lab_is_valid_against_the_schema(path):
    errors = list(validator("lab.json").iter_errors(yaml.safe_load(path.read_text())))
    assert not errors, [e.message for e in errors]


def fault(**change):
    data = yaml.safe_load((ROOT / "faults" / "scheduler-command-typo.yaml").read_text())
    data.update(change)
    return data


@pytest.mark.parametrize("bad", [
    fault(component="kube-nope"),
    fault(severity="urgent"),
    fault(colour="red"),
    fault(edits=[{"op": "set_flag", "flag": "no-dash"}]),
    fault(edits=[{"op": "set_probe_port", "value": 70000}]),
    fault(edits=[{"op": "no_such_op"}]),
    fault(symptoms=[{"kind": "pod_not_scheduled", "hold": 1}]),
    fault(symptoms=[]),
    fault(verify={"scale": 0}),
], ids=["component", "severity", "unknown-field", "flag", "port", "op", "hold", "no-symptoms", "verify-scale"])
def test_the_schema_refuses_what_the_catalog_refuses(bad, tmp_path):
    from breakfix.catalog import parse_fault
    from breakfix.errors import FaultFileError
    assert list(validator("fault.json").iter_errors(bad)), "the schema accepted it"
    with pytest.raises(FaultFileError):
        parse_fault(bad, tmp_path / "scheduler-command-typo.yaml")


def test_a_lab_step_refers_to_the_fault_schema():
    lab = yaml.safe_load((ROOT / "labs" / "control-plane-failure.yaml").read_text())
    lab["steps"][0]["symptoms"][0]["kind"] = "no_such_kind"
    assert list(validator("lab.json").iter_errors(lab))
    lab["steps"][0]["symptoms"][0]["kind"] = "pod_not_scheduled"
    lab["steps"][0]["fixed"]["app_replicas"] = "one"
    assert list(validator("lab.json").iter_errors(lab))
