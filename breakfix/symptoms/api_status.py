"""Symptom kind `api_status`: its fields and its check."""
from __future__ import annotations

from ..params import INTS, STREAK, TEXT
from ..waits import Observation
from ._kind import REQUIRED, SymptomKind, wait_seen


def _api_status(lab, inj, spec) -> str:
    """Requests with the kubeconfig's own credentials get one of the HTTP statuses, `streak` in a row."""
    statuses, path = set(spec.status_any), spec.path
    streak = {"n": 0}

    def probe() -> Observation:
        try:
            method, url, headers, body, post = lab.kube.api_client.param_serialize("GET", path,
                                                                                   auth_settings=["BearerToken"])
            resp = lab.kube.api_client.call_api(method, url, headers, body, post, _request_timeout=5)
            status = resp.status
        except Exception as exc:  # noqa: BLE001 - no HTTP status: no observation
            streak["n"] = 0
            return Observation(False, f"GET {path}: no HTTP answer ({type(exc).__name__})")
        streak["n"] = streak["n"] + 1 if status in statuses else 0
        return Observation(streak["n"] >= spec.streak, f"GET {path}: HTTP {status}; in a row: {streak['n']}")

    return wait_seen(probe, f"GET {path} answered {sorted(statuses)}", lab.t("symptom"), lab.poll)


KIND = SymptomKind(
    "api_status",
    "GET `path` (default /api) with the kubeconfig's own credentials answers one of the HTTP statuses "
    "`status_any`, `streak` times in a row",
    {"status_any": (INTS, REQUIRED), "path": (TEXT, "/api"), "streak": (STREAK, 3)},
    _api_status)
