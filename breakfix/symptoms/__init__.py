"""The symptom kinds, one module per kind (named as the kind): each declares its fields, with their
types and defaults, and its check (`KIND = SymptomKind(...)`, _kind.py). A module added here is a new
kind: in the fault file's model and its JSON Schema (models.py, schemas/), in docs/faults.md, and
checked by the engine. A check waits (deadline-bound) until the symptom shows and returns the
evidence as text, or raises SymptomNotObserved / WaitTimeout with what it saw last."""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

from ..kube import event_time
from ._kind import BACKOFF_REASONS, REQUIRED, SymptomFields, SymptomKind, static_pod_of, wait_seen
from .members_ready import (Member, MemberProbe, control_plane_members, kubeconfig_tls, member_readyz,
                            members_verdict)
from .service_unreachable import http_status, proxy_down_node
from .dns_unanswered import dns_over_tcp
from .tls_verify_error import tls_verify
from .workload_failing import workload_status

__all__ = ["BACKOFF_REASONS", "CHECKS", "MONITORS", "REQUIRED", "SYMPTOM_KINDS", "Member", "MemberProbe",
           "SymptomFields", "SymptomKind", "check", "control_plane_members", "describe_events", "dns_over_tcp",
           "http_status", "kubeconfig_tls", "member_readyz", "members_verdict", "proxy_down_node",
           "start_monitors", "static_pod_of", "stop_monitors", "tls_verify", "wait_seen", "workload_status"]


def _kinds() -> dict[str, SymptomKind]:
    out = {}
    for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if m.name.startswith("_"):
            continue
        kind = importlib.import_module(f"{__name__}.{m.name}").KIND
        assert kind.name == m.name, f"breakfix/symptoms/{m.name}.py declares kind {kind.name!r}: name them alike"
        out[kind.name] = kind
    return out


SYMPTOM_KINDS: dict[str, SymptomKind] = _kinds()
CHECKS: dict[str, Callable] = {k: s.check for k, s in SYMPTOM_KINDS.items()}
# Symptom kinds that measure from just before the change (started by Lab.inject).
MONITORS: dict[str, Callable] = {k: s.monitor for k, s in SYMPTOM_KINDS.items() if s.monitor}


def check(lab, inj, spec) -> str:
    """SPEC's check (a fault's symptom entry, a mapping, or its fields), with its kind's defaults."""
    kind = SYMPTOM_KINDS[spec["kind"] if isinstance(spec, dict) else spec.kind]
    return kind.check(lab, inj, kind.parse(spec))


def start_monitors(lab, inj) -> None:
    """Called by Lab.inject right before the change: start what a symptom kind measures from there."""
    for spec in inj.fault.symptoms:
        kind = SYMPTOM_KINDS[spec["kind"] if isinstance(spec, dict) else spec.kind]
        if kind.monitor:
            kind.monitor(lab, inj, kind.parse(spec))


def stop_monitors(inj) -> None:
    """Stop every monitor Lab.inject started for INJ (idempotent)."""
    for mon in list(inj.context.monitors.values()):
        mon.stop()


def describe_events(kube, name: str, namespace: str) -> str:
    rows = [f"{event_time(e)} {e.type} {e.reason}: {e.message}" for e in kube.events_for(name, namespace)]
    return "\n".join(rows[-30:]) or "(no events)"
