"""Symptom kind `tls_verify_error`: its fields and its check."""
from __future__ import annotations

from ..params import INTS
from ..probes import endpoint
from ..waits import Observation
from ._kind import SymptomKind, wait_seen


def tls_verify(kubeconfig) -> tuple[str, int | None]:
    """A TLS handshake with the cluster endpoint, verified with the kubeconfig's CA: ("ok", None),
    ("verify", the X.509 verify code), or ("other", None) when it failed for another reason."""
    import socket
    import ssl

    host, port, ca = endpoint(kubeconfig)
    ctx = ssl.create_default_context(cadata=ca.decode() if ca else None)
    ctx.check_hostname = False
    try:
        with socket.create_connection((host, port), timeout=3) as s, ctx.wrap_socket(s, server_hostname=host):
            return "ok", None
    except ssl.SSLCertVerificationError as exc:
        return "verify", exc.verify_code
    except OSError:
        return "other", None



def _tls_verify_error(lab, inj, spec) -> str:
    codes = set(spec.code_any)

    def probe() -> Observation:
        outcome, code = tls_verify(lab.kube.kubeconfig)
        return Observation(outcome == "verify" and code in codes,
                           f"TLS handshake with the cluster endpoint, verified with the cluster CA: {outcome}"
                           + (f", X.509 verify code {code}" if code is not None else "") + f" (want {sorted(codes)})")

    return wait_seen(probe, f"TLS verify error {sorted(codes)} from the cluster endpoint", lab.t("symptom"), lab.poll)


KIND = SymptomKind(
    "tls_verify_error",
    "a TLS handshake with the cluster endpoint, verified with the kubeconfig's CA, fails with one of the "
    "X.509 verify codes `code_any` (default 10, certificate has expired)",
    {"code_any": (INTS, [10])},      # 10: X509_V_ERR_CERT_HAS_EXPIRED
    _tls_verify_error)
