"""The grader's parts, one job each: no class in breakfix/grading over 200 lines, and the Grader's
parts see one node and API state (what the node answered, set once, decides the verdict)."""
from __future__ import annotations

import ast
from pathlib import Path

from breakfix.grading import Grader
from breakfix.grading.results import CheckResult
from breakfix.waits import Observation

GRADING = Path(__file__).resolve().parents[2] / "breakfix" / "grading"


def test_no_class_in_grading_is_over_200_lines():
    sizes = {f"{path.name}:{node.name}": node.end_lineno - node.lineno + 1
             for path in GRADING.glob("*.py") for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.ClassDef)}
    assert sizes and max(sizes.values()) <= 200, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]


def test_the_parts_share_the_runs_state():
    g = Grader(None, None, "n", {}, api_error="timed out")
    failed = [CheckResult("kube-apiserver", "api-readyz", "fail", "x", source="api")]
    g.node_api = Observation(True, "/readyz ok on the node")
    assert g.verdict(failed) == "could-not-grade" and g.ctx.node_api is g.node_api
    assert g.pods.ctx is g.kubelet.ctx is g.functions.ctx is g.causes.ctx is g.ctx
    assert not g.api_ok and g.api_error == "timed out"
