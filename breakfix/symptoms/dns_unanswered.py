"""Symptom kind `dns_unanswered`: its fields and its check."""
from __future__ import annotations

from .. import probes
from ..params import STREAK, TEXT
from ..waits import Observation
from ._kind import SymptomKind, wait_seen


def dns_over_tcp(lab, server: str, name: str) -> tuple[str, dict]:
    """probes.dns_over_tcp from the lab's node."""
    return probes.dns_over_tcp(lab.node, server, name)



def _dns_unanswered(lab, inj, spec) -> str:
    """From the node, DNS over TCP to the kube-dns Service's ClusterIP gets no answer (no connect,
    or nothing back) `streak` times in a row. An answer of any kind resets the streak; a probe that
    did not run proves nothing."""
    name = spec.name
    svc = lab.kube.service("kube-dns", "kube-system")
    server = svc.spec.cluster_ip
    streak = {"n": 0}

    def probe() -> Observation:
        outcome, hdr = dns_over_tcp(lab, server, name)
        if outcome in ("no-connect", "no-answer"):
            streak["n"] += 1
        elif outcome == "answered":
            streak["n"] = 0
        return Observation(streak["n"] >= spec.streak,
                           f"DNS over TCP to {server}:53 for {name}: {outcome} {hdr}; in a row: {streak['n']}")

    return wait_seen(probe, f"DNS at {server} unanswered", lab.t("symptom"), max(lab.poll, 1.0))


KIND = SymptomKind(
    "dns_unanswered",
    "from the node, a DNS query over TCP to the kube-dns Service's ClusterIP gets no answer (no connect or "
    "nothing back), `streak` times in a row; any answer resets the count",
    {"name": (TEXT, "kubernetes.default.svc.cluster.local"), "streak": (STREAK, 3)},
    _dns_unanswered)
