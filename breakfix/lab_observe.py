"""The lab's observe part: each of the fault's symptoms proven (symptoms/), and what a human would
look at attached to the report."""
from __future__ import annotations

import contextlib
import time

from . import symptoms
from .diagnostics import describe_pod
from .killpoints import killpoint
from .kube import STATIC_COMPONENTS
from .lab_inject import Injection


class Observe:
    """Observe: the symptoms' evidence (a part of Lab)."""

    def observe(self, inj: Injection) -> dict[str, str]:
        killpoint("during-observe")
        evidence = {}
        with self.reporter.step(f"observe: {inj.fault.summary}"):
            for spec in inj.fault.symptoms:
                label = spec.get("description") or spec["kind"]
                with self.reporter.step(f"symptom: {label}"):
                    ev = symptoms.check(self, inj, spec)
                    self.reporter.attach(f"evidence: {spec['kind']}", ev)
                    evidence[spec["kind"]] = ev
            self.reporter.timing("inject->symptoms", time.monotonic() - inj.started, fault=inj.fault.id)
            if self.dwell:   # the benchmark's floor collects nothing beyond the symptoms
                self._attach_views(inj)
        return evidence

    def _attach_views(self, inj: Injection) -> None:
        """What a human would look at: `describe` and the previous log when the API answers; the
        node's own view (crictl, kubelet journal) when it does not or the kubelet is the fault."""
        f = inj.fault
        if not f.api_down and f.component in STATIC_COMPONENTS:
            name = self.mirror_pod_name(f.component)
            with contextlib.suppress(Exception):
                self.reporter.attach(f"describe pod {name}", describe_pod(self.kube, name))
            with contextlib.suppress(Exception):
                self.reporter.attach(f"previous log of {f.component}", self.kube.logs(name, previous=True, tail=60))
        if f.api_down or f.component == "kubelet":
            with contextlib.suppress(Exception):
                self.reporter.attach("node: crictl ps -a", self.node.crictl("ps -a").stdout)
            with contextlib.suppress(Exception):
                self.reporter.attach("node: journalctl -u kubelet (since the fault)",
                                     self.node.journal("kubelet", since=inj.since, lines=60))
