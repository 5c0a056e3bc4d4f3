"""Test data shared by the unit tests: the smallest valid fault file, and writing a file under tmp."""
from pathlib import Path

DEMO_FAULT = """
id: demo-fault
component: kube-scheduler
title: demo
target: {kind: manifest, path: kube-scheduler.yaml}
edits:
  - {op: set_command, value: nope}
symptoms:
  - {kind: pod_not_scheduled}
fix: put it back
remediation: read the manifest
"""


def write(tmp_path: Path, text: str, name: str = "demo-fault.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p
