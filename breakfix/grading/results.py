"""Grading results: one CheckResult per check, the GradeReport with its diagnosis and verdict, and
the weighted score. Plain data; rendering (text, JUnit XML) lives in render.py."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable

from ..probes import TITLES as PROBE_TITLES
from ..report import redact

# What each kind of check is worth in the score.
WEIGHTS: dict[str, int] = {
    "manifest": 2,        # <component>: manifest valid
    "pod_ready": 3,       # <component>: pod Ready
    "kubelet_active": 3,  # kubelet: service active
    "nodes_ready": 3,     # kubelet: nodes Ready
    "app_replicas": 3,    # app: N ready replicas (only with --replicas N)
    "worker_kubelet": 3,  # kubelet on NODE: a worker's kubelet active and its node Ready
}
TITLES = {
    "manifest": "manifest valid",
    "pod_ready": "pod Ready",
    "kubelet_active": "service active",
    "nodes_ready": "nodes Ready",
    "app_replicas": "replicas Ready",
    "worker_kubelet": "service active, node Ready",
}
# A static pod's container that has just started is not Ready until its startup probe passes (kubeadm:
# first probed 10 s after the start): the grader waits for Ready this long after the start, no longer.
READY_GRACE_S = 60
MIN_UPTIME_S = 10          # a container (or the kubelet) must be up this long to count as running
EVIDENCE_LINES = 10        # lines of evidence printed per failed check (JSON/JUnit get all of it)
# The part of the cluster (diagnosis.DEPENDS) each check is about; by default its component.
PARTS = {"nodes_ready": "nodes", "app_replicas": "app"}
# The functional probes (breakfix/probes.py): what each proves, worth 2 each.
TITLES.update(PROBE_TITLES)
WEIGHTS.update({name: 2 for name in PROBE_TITLES})
VERDICT_EXIT = {"pass": 0, "fail": 1, "could-not-grade": 2}


@dataclass
class LikelyFault:
    """A catalog fault whose own edits, applied to the baseline, give the observed change."""
    id: str
    title: str
    remediation: str
    matched: list[str]
    score: int = 0
    via: str | None = None      # set when the fault was found on another component (blocked-by)

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "remediation": self.remediation,
                "matched": list(self.matched), "via": self.via}


@dataclass
class CheckResult:
    component: str
    kind: str
    status: str                        # pass | fail | skip | error (the check could not run: proves nothing)
    evidence: str = ""
    source: str = "node"               # api | node
    likely_fault: LikelyFault | None = None
    seconds: float = 0.0
    group: str | None = None           # the part it is about when not its kind's or component's ("workers")
    # What the check read, as data for the learner's words (app_replicas: api_reachable, found, ready);
    # the evidence is for people.
    facts: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.component}: {TITLES.get(self.kind, self.kind)}"

    @property
    def id(self) -> str:
        return f"{self.component}/{self.kind}"

    @property
    def part(self) -> str:
        return self.group or PARTS.get(self.kind, self.component)

    @property
    def weight(self) -> int:
        return WEIGHTS.get(self.kind, 1)

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "component": self.component, "kind": self.kind,
                "status": self.status, "passed": self.passed, "weight": self.weight, "source": self.source,
                "evidence": redact(self.evidence),
                "likely_fault": self.likely_fault.to_dict() if self.likely_fault else None,
                "seconds": round(self.seconds, 2)}


def score(results: Iterable[CheckResult]) -> tuple[int, int, float]:
    """(passed weight, total weight, percent) over the checks that ran (skipped ones don't count)."""
    ran = [r for r in results if r.status != "skip"]
    total = sum(r.weight for r in ran)
    got = sum(r.weight for r in ran if r.passed)
    return got, total, round(100.0 * got / total, 1) if total else 0.0


@dataclass
class GradeReport:
    checks: list[CheckResult]
    node_spec: str
    node_name: str
    api: dict                 # {"reachable": bool, "detail": str}
    readonly: dict            # {"paths": [...], "files": n, "unchanged": bool, "changed": [...]}
    seconds: float = 0.0
    diagnosis: list = field(default_factory=list)    # diagnosis.Finding, root causes first
    notes: list = field(default_factory=list)
    verdict: str = "pass"     # pass | fail | could-not-grade
    probes: dict = field(default_factory=dict)        # {"namespace", "created": [...], "write": bool}
    strict: bool = False      # a changed line while every check passes (a warning) fails the grade
    lab: dict | None = None   # {"id", "title", "step", "step_title", "fault"} for `breakfix lab check`

    @property
    def passed(self) -> bool:
        return all(not r.failed for r in self.checks) and self.readonly.get("unchanged", False)

    @property
    def warnings(self) -> list:
        return [f for f in self.diagnosis if f.role == "warn"]

    @property
    def exit_code(self) -> int:
        if self.verdict == "pass" and self.strict and self.warnings:
            return 1
        return VERDICT_EXIT[self.verdict]

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [r for r in self.checks if r.failed]

    def to_dict(self) -> dict:
        got, total, pct = score(self.checks)
        return {**({"lab": self.lab} if self.lab else {}),
                "node": {"spec": self.node_spec, "name": self.node_name}, "api": self.api,
                "verdict": self.verdict, "passed": self.passed,
                "diagnosis": [f.to_dict() for f in self.diagnosis], "notes": list(self.notes),
                "score": {"passed_weight": got, "total_weight": total, "percent": pct},
                "failed": [r.name for r in self.failed_checks],
                "checks": [r.to_dict() for r in self.checks],
                "warnings": [c.line(f.component) for f in self.warnings for c in f.changed],
                "probes": self.probes, "readonly": self.readonly, "seconds": round(self.seconds, 2)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
