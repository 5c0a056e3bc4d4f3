"""Symptom kind `api_available`: its fields and its check."""
from __future__ import annotations

import time

from ..errors import SymptomNotObserved
from ..params import HOLD, seconds
from ..waits import Observation
from ._kind import SymptomKind


def _fresh_probe(kubeconfig, write: bool, seq: int) -> Observation:
    """One request (or a write) through the kubeconfig's endpoint on a new connection: a kept-alive
    connection would stay on one API server behind the load balancer and see nothing."""
    from kubernetes import client, config
    api = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        method, url, headers, body, post = api.param_serialize("GET", "/readyz", auth_settings=["BearerToken"])
        resp = api.call_api(method, url, headers, body, post, _request_timeout=3)
        if resp.status != 200:
            return Observation(False, f"/readyz {resp.status}")
        if write:
            core = client.CoreV1Api(api)
            name = f"breakfix-write-probe-{seq}"
            core.create_namespaced_config_map("default", client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name=name, labels={"kube-breakfix/probe": "write"}),
                data={"seq": str(seq)}), _request_timeout=3)
            core.delete_namespaced_config_map(name, "default", _request_timeout=3)
            return Observation(True, "/readyz 200, ConfigMap written and deleted")
        return Observation(True, "/readyz 200")
    except Exception as exc:  # noqa: BLE001 - the failure is the observation
        return Observation(False, f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}")
    finally:
        api.close()



class _Monitor:
    """Probes from just before the change until `hold` seconds after it took effect, in a thread of its own:
    what happens while the kubelet is still stopping the old container (up to its grace period)
    is part of the window too."""

    def __init__(self, kubeconfig, write: bool, hold: float, lifetime: float):
        import threading
        self.kubeconfig, self.write, self.hold = kubeconfig, write, hold
        self.end = time.monotonic() + lifetime     # a fault that fails before its check stops it too
        self.rows: list[tuple[float, Observation]] = []      # (monotonic time, observation)
        self.changed_at: float | None = None
        self.thread = threading.Thread(target=self._run, name="api-monitor", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        seq = 0
        while (self.changed_at is None or time.monotonic() - self.changed_at < self.hold) \
                and time.monotonic() < self.end:
            seq += 1
            start = time.monotonic()
            self.rows.append((start, _fresh_probe(self.kubeconfig, self.write, seq)))
            time.sleep(max(0.0, 0.5 - (time.monotonic() - start)))   # paced probes, not a fixed wait

    def stop(self, timeout: float = 15) -> None:
        """No more probes (the fault is being put back, or left in place unmeasured by `breakfix
        break`); waits for the probe in flight (each request times out after 3 s), so no thread is
        still inside a request when the process exits."""
        self.end = 0.0
        self.thread.join(timeout=timeout)



def _start_api_monitor(lab, inj, spec) -> None:
    hold = spec.hold
    inj.context.monitors[spec.kind] = _Monitor(lab.kube.kubeconfig, spec.write, hold,
                                                     hold + lab.t("took_effect") + lab.t("symptom"))



def _api_available(lab, inj, spec) -> str:
    """The probes of the monitor started before the change, until `hold` seconds after it took effect; the
    error window runs from the first failed probe to the first good one after the last failure.
    Fails when the window is longer than max_error_window or the API does not answer at the end."""
    limit = spec.max_error_window
    write = spec.write
    mon = inj.context.monitors.get(spec.kind)
    if mon is None:       # not started by Lab.inject (e.g. an older engine): probe from now on
        mon = _Monitor(lab.kube.kubeconfig, write, spec.hold, spec.hold + 1)
    if mon.changed_at is None:
        # `hold` more seconds from now, when the change has taken effect (the kubelet may take the
        # old container's whole grace period, 30 s for an API server, to stop it).
        mon.changed_at = time.monotonic()
    mon.thread.join(timeout=mon.hold + lab.t("symptom"))
    if mon.thread.is_alive():
        raise SymptomNotObserved("API available", f"the probe thread did not finish within {mon.hold:g}s + "
                                                  f"{lab.t('symptom'):.0f}s; {len(mon.rows)} probes so far")
    rows = [(t - inj.started, o) for t, o in list(mon.rows)]
    fails = [t for t, o in rows if not o.ok]
    if fails:
        after = [t for t, o in rows if o.ok and t > fails[-1]]
        err_window = (after[0] if after else rows[-1][0]) - fails[0]
    else:
        err_window = 0.0
    what = "writes" if write else "requests"
    lab.reporter.timing(f"api error window ({what} through the endpoint)", err_window, fault=inj.fault.id,
                        probes=len(rows), failed=len(fails))
    summary = (f"{len(rows)} probes from {rows[0][0]:.1f}s to {rows[-1][0]:.1f}s around the change "
               f"(negative: before it), {len(fails)} failed; error window {err_window:.1f}s (limit {limit:g}s)")
    detail = "\n".join(f"{t:+7.1f}s {'ok ' if o.ok else 'ERR'} {o.text()}" for t, o in rows
                        if not o.ok or t in (rows[0][0], rows[-1][0]))
    if not rows[-1][1].ok:
        raise SymptomNotObserved(f"API available ({what})", f"{summary}; the last probe failed: {rows[-1][1].text()}")
    if err_window > limit:
        raise SymptomNotObserved(f"API available ({what})", f"{summary}: longer than allowed")
    return summary + "\n" + detail


KIND = SymptomKind(
    "api_available",
    "the API keeps answering through the cluster's endpoint (kind's load balancer on ha), a fresh "
    "connection per probe from just before the change to `hold` seconds after it took effect (with write: a "
    "ConfigMap created and deleted each probe); "
    "the error window (first failed probe to the next good one) is reported and at most max_error_window",
    {"hold": (HOLD, 30), "write": (bool, False), "max_error_window": (seconds(0), 20)},
    _api_available, monitor=_start_api_monitor)
