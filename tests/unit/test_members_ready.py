"""members_ready: every control-plane member's own API server answers while the cluster endpoint does
not (the load balancer stopped). The decision, with fake probe results; the member list from fake
Node objects; the TLS probe against a real server on loopback."""
import datetime as dt
import http.server
import ssl
import threading
from types import SimpleNamespace as NS

import pytest

from breakfix import symptoms
from breakfix.symptoms import members_ready
from breakfix.errors import SymptomNotObserved
from breakfix.lab_inject import InjectionContext as Ctx
from breakfix.symptoms import Member, MemberProbe, control_plane_members, member_readyz, members_verdict

A, B, C = Member("ha-control-plane", "172.18.0.3", 6443), Member("ha-control-plane2", "172.18.0.4", 6443), \
    Member("ha-control-plane3", "172.18.0.5", 6443)


def test_all_members_200_and_endpoint_down_is_shown():
    obs = members_verdict(False, "/readyz: connection refused", [MemberProbe(m, 200) for m in (A, B, C)])
    assert obs.ok
    assert "3 of 3 members HTTP 200" in obs.text()
    for m in (A, B, C):
        assert f"{m.node} https://{m.ip}:6443/readyz: HTTP 200" in obs.text()


@pytest.mark.parametrize("probes, endpoint_ready", [
    ([MemberProbe(A, 200), MemberProbe(B, 200), MemberProbe(C, None, "no connection: ConnectionRefusedError")], False),
    ([MemberProbe(A, 200), MemberProbe(B, 500), MemberProbe(C, 200)], False),     # an answer, but not ready
    ([MemberProbe(A, 200), MemberProbe(B, None, "TLS: the serving certificate does not carry 172.18.0.4"),
      MemberProbe(C, 200)], False),
    ([MemberProbe(m, 200) for m in (A, B, C)], True),                             # the endpoint still answers
    ([], False),                                                                   # nobody asked proves nothing
])
def test_not_shown(probes, endpoint_ready):
    assert not members_verdict(endpoint_ready, "seen", probes).ok


def test_decided_from_the_status_not_the_text():
    # A probe that did not run is not ready, whatever its text says.
    p = MemberProbe(A, None, "HTTP 200")
    assert not members_verdict(False, "down", [p]).ok
    assert "no HTTP answer" in p.line()


class FakeLab:
    def __init__(self, rounds, deadline=0.4):
        self.kube = NS(kubeconfig="unused", readyz=lambda: (False, "/readyz: MaxRetryError: connection refused"))
        self.poll, self._deadline, self.rounds = 0.02, deadline, rounds

    def t(self, name):
        return self._deadline


def _run(monkeypatch, members, results, deadline=0.4):
    """RESULTS: per round, member -> status (None: the probe failed); the last round repeats."""
    rounds = {"i": 0}
    monkeypatch.setattr(members_ready, "kubeconfig_tls", lambda kubeconfig: (None, {}))

    def fake_probe(member, ctx, headers):
        r = results[min(rounds["i"] // len(members), len(results) - 1)]
        rounds["i"] += 1
        st = r[member.node]
        return MemberProbe(member, st, None if st is not None else "no connection: ConnectionRefusedError")
    monkeypatch.setattr(members_ready, "member_readyz", fake_probe)
    inj = NS(context=Ctx(members=members))
    return symptoms.check(FakeLab(None, deadline), inj, {"kind": "members_ready"})


def test_waits_until_every_member_answers(monkeypatch):
    ev = _run(monkeypatch, [A, B, C], [{A.node: 200, B.node: None, C.node: 200},
                                        {A.node: 200, B.node: 503, C.node: 200},
                                        {A.node: 200, B.node: 200, C.node: 200}])
    assert "3 of 3 members HTTP 200" in ev and "not ready" in ev


def test_deadline_names_the_last_state_of_each_member(monkeypatch):
    with pytest.raises(SymptomNotObserved) as e:
        _run(monkeypatch, [A, B, C], [{A.node: 200, B.node: None, C.node: 503}], deadline=0.2)
    msg = str(e.value)
    assert f"{A.node} https://{A.ip}:6443/readyz: HTTP 200" in msg
    assert f"{B.node} https://{B.ip}:6443/readyz: no HTTP answer (no connection: ConnectionRefusedError)" in msg
    assert f"{C.node} https://{C.ip}:6443/readyz: HTTP 503" in msg
    assert "1 of 3 members HTTP 200" in msg


def test_no_members_proves_nothing(monkeypatch):
    monkeypatch.setattr(members_ready, "member_readyz", lambda *a: pytest.fail("nothing to ask"))
    with pytest.raises(SymptomNotObserved, match="no control-plane node.*proves nothing"):
        symptoms.check(FakeLab(None), NS(context=Ctx(members=[])), {"kind": "members_ready"})


def test_members_unreadable_before_the_change_is_said(monkeypatch):
    with pytest.raises(SymptomNotObserved, match="reading the control-plane nodes failed: ConnectionError"):
        symptoms.check(FakeLab(None), NS(context=Ctx(members="reading the control-plane nodes failed: "
                                                               "ConnectionError: refused")),
                       {"kind": "members_ready"})


def test_the_monitor_reads_members_before_the_change():
    assert "members_ready" in symptoms.MONITORS

    def boom(*a, **k):
        raise ConnectionError("refused")
    lab = NS(kube=NS(pods=boom, core=NS(list_node=boom)))
    inj = NS(context=Ctx())
    symptoms.start_monitors(lab, NS(fault=NS(symptoms=[{"kind": "members_ready"}]), context=inj.context))
    assert inj.context.members.startswith("reading the control-plane nodes failed: ConnectionError")


def _node(name, labels, addresses):
    return NS(metadata=NS(name=name, labels=labels),
              status=NS(addresses=[NS(type=t, address=a) for t, a in addresses]))


def test_control_plane_members_from_nodes():
    cp = {"node-role.kubernetes.io/control-plane": ""}
    nodes = [_node("ha-control-plane2", cp, [("Hostname", "ha-control-plane2"), ("InternalIP", "172.18.0.4")]),
             _node("ha-control-plane", cp, [("InternalIP", "172.18.0.3")]),
             _node("ha-worker", {}, [("InternalIP", "172.18.0.9")]),
             _node("ha-control-plane3", cp, [("Hostname", "x")])]          # no InternalIP: cannot be asked
    pods = [NS(metadata=NS(annotations={members_ready.APISERVER_ENDPOINT_ANNOTATION: "172.18.0.3:7443"}),
               spec=NS(node_name="ha-control-plane"))]
    kube = NS(core=NS(list_node=lambda **k: NS(items=nodes)), pods=lambda ns, sel: pods)
    assert control_plane_members(kube) == [Member("ha-control-plane", "172.18.0.3", 7443),
                                           Member("ha-control-plane2", "172.18.0.4", 6443)]


# --- the real probe, against a TLS server on loopback -------------------------------------------------
def _pki(tmp_path, san):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "kubernetes")])
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(san), False).sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.crt").write_bytes(ca.public_bytes(pem))
    (tmp_path / "tls.crt").write_bytes(leaf.public_bytes(pem))
    (tmp_path / "tls.key").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))


@pytest.fixture
def readyz_server(tmp_path):
    servers = []

    def start(san):
        _pki(tmp_path, san)

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):   # noqa: N802
                code = 200 if self.path == "/readyz" and self.headers.get("Authorization") == "Bearer t" else 401
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass
        srv = http.server.HTTPServer(("127.0.0.1", 0), H)
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
        srv.socket = sctx.wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
        return Member("m", "127.0.0.1", srv.server_address[1]), ctx
    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def test_probe_verifies_the_member_address(readyz_server):
    import ipaddress

    from cryptography import x509
    member, ctx = readyz_server([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    assert member_readyz(member, ctx, {"Authorization": "Bearer t"}).status == 200
    assert member_readyz(member, ctx, {}).status == 401       # the credentials are sent, and matter


def test_certificate_without_the_address_is_said_not_skipped(readyz_server):
    from cryptography import x509
    member, ctx = readyz_server([x509.DNSName("kubernetes")])
    p = member_readyz(member, ctx, {"Authorization": "Bearer t"})
    assert p.status is None
    assert "does not carry 127.0.0.1" in p.error and "verification stays on" in p.error


def test_no_listener_is_no_answer():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = member_readyz(Member("m", "127.0.0.1", port), ssl.create_default_context(), {})
    assert p.status is None and p.error.startswith("no connection")


@pytest.mark.parametrize("skip", [False, True])
def test_kubeconfig_credentials_and_verification_always_on(tmp_path, skip):
    import base64

    import yaml

    from cryptography import x509
    from breakfix.symptoms import kubeconfig_tls
    _pki(tmp_path, [x509.DNSName("kubernetes")])
    b64 = lambda p: base64.b64encode((tmp_path / p).read_bytes()).decode()   # noqa: E731
    cluster = {"server": "https://127.0.0.1:39999", "certificate-authority-data": b64("ca.crt")}
    if skip:
        cluster = {"server": "https://127.0.0.1:39999", "insecure-skip-tls-verify": True}
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
           "clusters": [{"name": "c", "cluster": cluster}],
           "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
           "users": [{"name": "u", "user": {"client-certificate-data": b64("tls.crt"),
                                            "client-key-data": b64("tls.key")}}]}
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(cfg))
    ctx, headers = kubeconfig_tls(tmp_path / "kubeconfig")
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert headers == {}
    if not skip:
        assert any(c["subject"] == ((("commonName", "kubernetes"),),) for c in ctx.get_ca_certs())


def test_unloadable_credentials_are_said(monkeypatch, tmp_path):
    (tmp_path / "kubeconfig").write_text("clusters: []\n")
    lab = FakeLab(None)
    lab.kube.kubeconfig = tmp_path / "kubeconfig"
    with pytest.raises(SymptomNotObserved, match="credentials and CA could not be loaded"):
        symptoms.check(lab, NS(context=Ctx(members=[A])), {"kind": "members_ready"})
