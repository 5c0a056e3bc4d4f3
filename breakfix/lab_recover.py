"""The lab's recover part: put the node back exactly as it was (the journal's replay: the same code that
repairs a killed run), also what a killed run left, and wait until the component and the whole control
plane are Ready again."""
from __future__ import annotations

import contextlib
import json
import time

from . import symptoms
from .catalog import Fault
from .errors import NotRecovered, WaitTimeout
from .journal import Entry, JournalError
from .interrupts import deferred_interrupts
from .targets import replay, strategy
from .waits import wait_until
from .lab_inject import Injection


class Recover:
    """Recover: the restore and the wait for recovery (a part of Lab)."""

    def leftovers(self) -> list[Entry]:
        """Journal entries of injections that were never restored (a run killed hard, `breakfix
        break`). Raises when the journal cannot be read or an entry is corrupt."""
        return self.journal.entries()

    def restore_leftovers(self, wait: bool = True) -> list[str]:
        """Put back everything a journal on the node names, then clean what a write killed
        mid-way left; returns the faults restored. An entry that cannot be replayed raises
        JournalError and stays on the node."""
        done = []
        for e in self.leftovers():
            with deferred_interrupts():
                replay(self.journal, e)
            done.append(e.fault)
            self.reporter.attach("restored a leftover fault", json.dumps(e.as_dict(), indent=2), "json")
        swept = self.journal.sweep()
        if swept:
            self.reporter.attach("removed stale kube-breakfix files", "\n".join(swept))
        if done and wait:
            self.wait_settled("control plane Ready after restoring leftovers")
        return done

    def restore(self, inj: Injection, wait: bool = True, window: bool = True) -> None:
        """Put the node back exactly as it was (the journal's replay: the same code that repairs a
        killed run), then wait until the component is Ready again. Idempotent; runs on pass,
        fail, error and Ctrl-C (registered before the change)."""
        if inj.restored or inj.entry is None:
            return
        f = inj.fault
        t0 = time.monotonic()
        with deferred_interrupts(), self.reporter.step(f"fix: restore {inj.entry.what()}"):
            try:
                replay(self.journal, inj.entry)
            except JournalError as exc:
                raise NotRecovered(f.id, str(exc)) from None
            inj.restored = True
            symptoms.stop_monitors(inj)             # nothing left probing the API for a fault put back
            for name in inj.context.probe_pods:
                with contextlib.suppress(Exception):
                    self.kube.delete_pod(name, self.namespace)
            for name in inj.context.probe_services:
                with contextlib.suppress(Exception):
                    self.kube.delete_service(name, self.namespace)
        if wait:
            self.wait_recovered(inj, window)
            self.reporter.timing("fix->recovered", time.monotonic() - t0, fault=f.id)

    def wait_recovered(self, inj: Injection, window: bool = True) -> None:
        """The restored component Ready, then the whole control plane; with window=False Ready
        once, its stability window confirmed by confirm_stable() after the verification."""
        f = inj.fault
        with self.reporter.step(f"verify: {f.component} Ready again"):
            try:
                with self.pace.drive(self, inj, "fix"):
                    (inj.strategy or strategy(f.target.kind)).recovered(self, inj)
                    wait_until(self.unstuck(self.pace.recovered_probe(self, f.component)), f"{f.component} works",
                               self.t("recover"), interval=self.poll)
                obs = self.wait_settled("control plane Ready after the fix", clear_backoff=True, window=window)
            except WaitTimeout as exc:
                raise NotRecovered(f.id, str(exc)) from None
            self.reporter.attach("control plane after the fix", obs.text().replace("; ", "\n"))

    @staticmethod
    def full_window_after_fix(fault: Fault) -> bool:
        """Whether the stability window after FAULT's fix is waited in full instead of overlapped
        with the verification (confirm_stable). A fix that (re)starts the kubelet: the pod statuses
        in the API are the old kubelet's until the new one resyncs them. After an API outage: the
        scheduler and controller manager lost their leases while the API was away and may restart
        after being seen Ready once (a full run saw the verification's pod stay Pending 90 s after
        apiserver-unknown-flag)."""
        kubelet = fault.target.kind in ("file", "service") and getattr(fault.target, "unit", None) == "kubelet"
        return kubelet or fault.api_down
