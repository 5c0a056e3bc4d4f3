"""A kubeconfig compared as facts (breakfix/grading/kubeconfig.py): server, CA, identity, issuer,
validity, key pair; key material never shown. Certificates are made here with `cryptography`."""
from __future__ import annotations

import base64
import datetime as dt

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from breakfix.grading.diagnosis import changes, mention_line
from breakfix.grading.kubeconfig import kubeconfig_facts

NOW = dt.datetime.now(dt.timezone.utc)
SCHED = "/etc/kubernetes/scheduler.conf"


def _name(cn: str, o: str | None = None) -> x509.Name:
    attrs = ([x509.NameAttribute(NameOID.ORGANIZATION_NAME, o)] if o else []) + [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    return x509.Name(attrs)


def _cert(subject: x509.Name, issuer: x509.Name, key, signer, days: int = 365, ago: int = 1, ca: bool = False):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(NOW - dt.timedelta(days=ago))
         .not_valid_after(NOW - dt.timedelta(days=ago) + dt.timedelta(days=days)))
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return b.sign(signer, hashes.SHA256())


def _pem(obj) -> bytes:
    if hasattr(obj, "public_bytes") and not hasattr(obj, "private_bytes"):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


CA_KEY, OTHER_KEY, USER_KEY = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
CA = _cert(_name("kubernetes"), _name("kubernetes"), CA_KEY, CA_KEY, ca=True)
FRONT = _cert(_name("front-proxy-ca"), _name("front-proxy-ca"), OTHER_KEY, OTHER_KEY, ca=True)
USER = _cert(_name("system:kube-scheduler"), _name("kubernetes"), USER_KEY, CA_KEY)


def kubeconfig(server="https://172.18.0.2:6443", ca=CA, cert=USER, key=USER_KEY, ca_path=None) -> str:
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    cluster = {"server": server}
    if ca_path:
        cluster["certificate-authority"] = ca_path
    else:
        cluster["certificate-authority-data"] = b64(_pem(ca))
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "u@k",
        "clusters": [{"name": "k", "cluster": cluster}],
        "contexts": [{"name": "u@k", "context": {"cluster": "k", "user": "u"}}],
        "users": [{"name": "u", "user": {"client-certificate-data": b64(_pem(cert)),
                                         "client-key-data": b64(_pem(key))}}]})


def test_facts_show_identity_and_never_key_material():
    facts = kubeconfig_facts(kubeconfig())
    assert facts["server"] == "https://172.18.0.2:6443"
    assert facts["certificate-authority"].startswith("CN=kubernetes (sha256 ")
    assert facts["client-certificate.subject"] == "CN=system:kube-scheduler"
    assert facts["client-certificate.issuer"] == "CN=kubernetes"
    assert facts["client-certificate.expired"] is False
    assert facts["client-key.matches-certificate"] is True
    shown = repr(facts)
    assert "PRIVATE" not in shown and base64.b64encode(_pem(USER_KEY)).decode()[:40] not in shown


def test_a_fresh_certificate_for_the_same_identity_is_no_change():
    """kubeadm renders a kubeconfig with a new certificate for the same identity: not a change."""
    key2 = ec.generate_private_key(ec.SECP256R1())
    again = _cert(_name("system:kube-scheduler"), _name("kubernetes"), key2, CA_KEY)
    assert changes(SCHED, kubeconfig(cert=again, key=key2), kubeconfig(), "kubeadm") == []


def test_server_ca_identity_expiry_and_key_pair_changes_are_found():
    base = kubeconfig()
    [c] = changes(SCHED, kubeconfig(server="https://172.18.0.2:6444"), base, "kubeadm")
    assert (c.key, c.now, c.baseline) == ("server", "https://172.18.0.2:6444", "https://172.18.0.2:6443")
    front = changes(SCHED, kubeconfig(ca_path="/pki/front-proxy-ca.crt"), base, "backup",
                    read=lambda p: _pem(FRONT) if p == "/pki/front-proxy-ca.crt" else None)
    assert [(c.key, c.now.split(" ")[0]) for c in front] == [("certificate-authority", "CN=front-proxy-ca")]
    expired = _cert(_name("system:kube-scheduler"), _name("kubernetes"), USER_KEY, CA_KEY, days=30, ago=60)
    [c] = changes(SCHED, kubeconfig(cert=expired), base, "kubeadm")
    assert (c.key, c.now, c.baseline) == ("client-certificate.expired", True, False)
    who = _cert(_name("system:kube-proxy"), _name("kubernetes"), USER_KEY, CA_KEY)
    [c] = changes(SCHED, kubeconfig(cert=who), base, "kubeadm")
    assert (c.key, c.now) == ("client-certificate.subject", "CN=system:kube-proxy")
    [c] = changes(SCHED, kubeconfig(key=OTHER_KEY), base, "backup")
    assert (c.key, c.now, c.baseline) == ("client-key.matches-certificate", False, True)


def test_an_identity_is_looked_for_by_its_name_in_the_log():
    who = _cert(_name("system:kube-proxy"), _name("kubernetes"), USER_KEY, CA_KEY)
    found = changes(SCHED, kubeconfig(cert=who), kubeconfig(), "kubeadm")
    log = ('E1207 10:00:00.1 1 reflector.go:1] "Failed" err="pods is forbidden: User \\"system:kube-proxy\\" '
           'cannot list resource \\"pods\\""')
    assert mention_line(log, found) == log


def test_an_endpoint_is_looked_for_as_the_dial_names_it():
    found = changes(SCHED, kubeconfig(server="https://172.18.0.2:6444"), kubeconfig(), "kubeadm")
    log = 'E1207 10:00:00.1 1 reflector.go:1] "Unhandled Error" err="Get \\"https://172.18.0.2:6444/api\\": dial tcp ' \
          '172.18.0.2:6444: connect: connection refused"'
    assert mention_line(log, found) == log
