"""A kubeconfig as comparable facts: which server it talks to, which CA it trusts, and who its client
certificate says it is. Key material never leaves this module: a certificate is shown by its
subject, issuer, validity and fingerprint; a private key only by whether it matches the certificate.

Two kubeconfigs are compared fact by fact (diagnosis.changes), so a kubeconfig that kubeadm renders
anew (a fresh certificate for the same identity, signed by the same CA) equals the one on the node
unless the server, the CA, the identity, its issuer, its validity or its key pair differ."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Any, Callable

import yaml

# name in a kubeconfig -> the part of the cluster that uses it
KUBECONFIGS = {
    "/etc/kubernetes/controller-manager.conf": "kube-controller-manager",
    "/etc/kubernetes/scheduler.conf": "kube-scheduler",
    "/etc/kubernetes/kubelet.conf": "kubelet",
}


def _pem_blocks(data: bytes, kind: bytes) -> list[bytes]:
    out, start = [], 0
    begin = b"-----BEGIN " + kind
    while (i := data.find(begin, start)) >= 0:
        j = data.find(b"-----END ", i)
        k = data.find(b"-----", j + 9)
        if j < 0 or k < 0:
            break
        out.append(data[i:k + 5])
        start = k + 5
    return out


def cert_facts(pem: bytes, now: dt.datetime | None = None) -> dict[str, Any]:
    """subject, issuer, sha256 fingerprint (16 hex), expired, not yet valid, of the first certificate."""
    from cryptography import x509
    blocks = _pem_blocks(pem, b"CERTIFICATE")
    if not blocks:
        return {"error": "no PEM certificate"}
    try:
        c = x509.load_pem_x509_certificate(blocks[0])
    except ValueError as exc:
        return {"error": f"not a certificate: {str(exc)[:80]}"}
    now = now or dt.datetime.now(dt.timezone.utc)
    return {"subject": c.subject.rfc4514_string(), "issuer": c.issuer.rfc4514_string(),
            "fingerprint": hashlib.sha256(blocks[0].strip()).hexdigest()[:16],
            "expired": c.not_valid_after_utc < now, "not-yet-valid": c.not_valid_before_utc > now,
            "not-after": c.not_valid_after_utc.isoformat(), "_cert": c}


def key_matches(cert, key_pem: bytes) -> bool | None:
    """Whether the private key in KEY_PEM belongs to CERT (None: no key, or not readable)."""
    from cryptography.hazmat.primitives import serialization
    blocks = [b for kind in (b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"PRIVATE KEY") for b in _pem_blocks(key_pem, kind)]
    if not blocks:
        return None
    try:
        key = serialization.load_pem_private_key(blocks[0], password=None)
    except (ValueError, TypeError):
        return None
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.public_key().public_bytes(*fmt) == cert.public_key().public_bytes(*fmt)


def _material(entry: dict, key: str, read: Callable[[str], bytes | None]) -> bytes | None:
    """ENTRY's KEY-data (base64), else the file KEY names, read with READ (None: unreadable)."""
    data = entry.get(f"{key}-data")
    if isinstance(data, str) and data:
        try:
            return base64.b64decode(data)
        except ValueError:
            return b""
    path = entry.get(key)
    if isinstance(path, str) and path:
        return read(path)
    return None


def _named(items: Any, name: Any, field: str) -> dict:
    for it in items or []:
        if isinstance(it, dict) and it.get("name") == name:
            return it.get(field) or {}
    return {}


def kubeconfig_facts(text: str, read: Callable[[str], bytes | None] = lambda p: None) -> dict[str, Any]:
    """The facts of a kubeconfig (its current context): server, certificate-authority (subject and
    fingerprint), client-certificate.subject/.issuer/.expired, client-key.matches. READ gives the bytes
    of a file a kubeconfig names instead of embedding it (the kubelet's rotated certificate)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return {"(document)": f"not valid YAML: {getattr(exc, 'problem', exc)}"}
    if not isinstance(doc, dict):
        return {"(document)": "not a kubeconfig"}
    ctx = _named(doc.get("contexts"), doc.get("current-context"), "context")
    cluster = _named(doc.get("clusters"), ctx.get("cluster"), "cluster")
    user = _named(doc.get("users"), ctx.get("user"), "user")
    out: dict[str, Any] = {"current-context": doc.get("current-context"), "server": cluster.get("server")}
    ca = _material(cluster, "certificate-authority", read)
    if ca is not None:
        f = cert_facts(ca)
        out["certificate-authority"] = f.get("error") or f"{f['subject']} (sha256 {f['fingerprint']})"
    if cluster.get("insecure-skip-tls-verify"):
        out["insecure-skip-tls-verify"] = True
    cert = _material(user, "client-certificate", read)
    if cert is not None:
        f = cert_facts(cert)
        if "error" in f:
            out["client-certificate"] = f["error"]
        else:
            out["client-certificate.subject"] = f["subject"]
            out["client-certificate.issuer"] = f["issuer"]
            out["client-certificate.expired"] = f["expired"]
            key = _material(user, "client-key", read)
            if key is not None:
                out["client-key.matches-certificate"] = key_matches(f["_cert"], key)
    if user.get("token") or user.get("tokenFile"):
        out["token"] = "set"
    return out
