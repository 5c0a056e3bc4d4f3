"""Symptom kind `members_ready`: its fields and its check."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import SymptomNotObserved, WaitTimeout
from ..shapes import CONTROL_PLANE_LABEL
from ..waits import Observation, wait_until
from ._kind import SymptomKind


APISERVER_ENDPOINT_ANNOTATION = "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"


DEFAULT_APISERVER_PORT = 6443


NAME_MISMATCH_CODES = {62, 64}



@dataclass(frozen=True)
class Member:
    """A control-plane node and where its own API server listens."""
    node: str
    ip: str
    port: int

    def address(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"



@dataclass(frozen=True)
class MemberProbe:
    """One GET of a member's /readyz: the HTTP status, or None when no HTTP answer came (no
    connection, TLS failed, timeout); `error` says why, for the evidence only."""
    member: Member
    status: int | None
    error: str | None = None

    def line(self) -> str:
        got = f"HTTP {self.status}" if self.status is not None else f"no HTTP answer ({self.error})"
        return f"{self.member.node} https://{self.member.address()}/readyz: {got}"



def control_plane_members(kube) -> list[Member]:
    """The control-plane nodes (the role label) with their InternalIP, and the port kubeadm says
    their API server advertises (the annotation of their kube-apiserver mirror pod, else 6443).
    A node without an InternalIP is left out (it cannot be asked)."""
    ports = {}
    for p in kube.pods("kube-system", "component=kube-apiserver"):
        ep = (p.metadata.annotations or {}).get(APISERVER_ENDPOINT_ANNOTATION, "")
        port = ep.rsplit(":", 1)[-1] if ":" in ep else ""
        if p.spec.node_name and port.isdigit():
            ports[p.spec.node_name] = int(port)
    out = []
    for n in kube.core.list_node(_request_timeout=30).items:
        if CONTROL_PLANE_LABEL not in (n.metadata.labels or {}):
            continue
        ips = [a.address for a in (n.status.addresses or []) if a.type == "InternalIP"]
        if ips:
            out.append(Member(n.metadata.name, ips[0], ports.get(n.metadata.name, DEFAULT_APISERVER_PORT)))
    return sorted(out, key=lambda m: m.node)



def kubeconfig_tls(kubeconfig):
    """(SSL context, headers) carrying the kubeconfig's own credentials (client certificate and key,
    or its bearer token) and its CA. Verification is always on, with the host name (an IP here)
    checked: a kubeconfig that skips verification gets the system's trust store, not less."""
    import ssl

    from kubernetes import config
    api = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        c = api.configuration
        ctx = ssl.create_default_context(cafile=c.ssl_ca_cert or None)
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        if c.cert_file:
            ctx.load_cert_chain(c.cert_file, c.key_file)
        token = (c.api_key or {}).get("BearerToken") or (c.api_key or {}).get("authorization")
        headers = {"Authorization": token} if token else {}
        return ctx, headers
    finally:
        api.close()



def member_readyz(member: Member, ctx, headers: dict, timeout: float = 3.0) -> MemberProbe:
    """GET /readyz on the member's own address, TLS verified against that address."""
    import http.client
    import ssl
    conn = http.client.HTTPSConnection(member.ip, member.port, context=ctx, timeout=timeout)
    try:
        conn.request("GET", "/readyz", headers=headers)
        resp = conn.getresponse()
        resp.read(256)
        return MemberProbe(member, resp.status)
    except ssl.SSLCertVerificationError as exc:
        if exc.verify_code in NAME_MISMATCH_CODES:
            why = (f"TLS: the serving certificate does not carry {member.ip} (X.509 verify code "
                   f"{exc.verify_code}); verification stays on")
        else:
            why = f"TLS verify failed (X.509 verify code {exc.verify_code})"
        return MemberProbe(member, None, why)
    except ssl.SSLError as exc:
        return MemberProbe(member, None, f"TLS: {type(exc).__name__} {exc.reason or ''}".strip())
    except OSError as exc:       # refused, unreachable, timed out
        return MemberProbe(member, None, f"no connection: {type(exc).__name__}")
    except http.client.HTTPException as exc:
        return MemberProbe(member, None, f"no HTTP answer: {type(exc).__name__}")
    finally:
        conn.close()



def members_verdict(endpoint_ready: bool, endpoint_seen: str, probes: list[MemberProbe]) -> Observation:
    """Shown when every member answered HTTP 200 and the cluster endpoint is not ready. Decided
    from the statuses alone; a probe that did not run (status None) is not ready."""
    lines = [f"cluster endpoint: {'ready' if endpoint_ready else 'not ready'} ({endpoint_seen})"]
    lines += [p.line() for p in probes]
    ready = [p for p in probes if p.status == 200]
    lines.append(f"{len(ready)} of {len(probes)} members HTTP 200")
    ok = bool(probes) and len(ready) == len(probes) and not endpoint_ready
    return Observation(ok, "\n".join(lines))



def _start_members_read(lab, inj, spec) -> None:
    """Before the change (the API still answers): which members to ask, and where."""
    try:
        inj.context.members = control_plane_members(lab.kube)
    except Exception as exc:  # noqa: BLE001 - said by the check; the change is not held up by it
        inj.context.members = f"reading the control-plane nodes failed: {_exc_text(exc)}"



def _exc_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"



def _members_ready(lab, inj, spec) -> str:
    """Every control-plane member's own API server answers /readyz 200 while the cluster endpoint
    does not; waits (short polls, a deadline) for all of them in one round."""
    members = inj.context.members
    if members is None:      # not started by Lab.inject: read them now (fails when the API is down)
        _start_members_read(lab, inj, spec)
        members = inj.context.members
    what = "every control-plane member ready at its own address, the cluster endpoint not"
    if isinstance(members, str):
        raise SymptomNotObserved(what, members)
    if not members:
        raise SymptomNotObserved(what, "the API listed no control-plane node with an InternalIP before the change "
                                       f"(label {CONTROL_PLANE_LABEL}): "
                                       "nothing to ask, which proves nothing")
    try:
        ctx, headers = kubeconfig_tls(lab.kube.kubeconfig)
    except Exception as exc:  # noqa: BLE001 - without the kubeconfig's credentials nobody can be asked
        raise SymptomNotObserved(what, f"the kubeconfig's credentials and CA could not be loaded: {_exc_text(exc)}") \
            from None
    last = {"obs": Observation(False, "no round of probes finished")}

    def probe() -> Observation:
        ready, seen = lab.kube.readyz()
        last["obs"] = members_verdict(ready, seen, [member_readyz(m, ctx, headers) for m in members])
        return last["obs"]

    deadline = lab.t("symptom")
    try:
        return wait_until(probe, what, deadline, interval=lab.poll).text()
    except WaitTimeout:     # its own last state is cut short: name every member's in full
        raise SymptomNotObserved(what, f"not seen within {deadline:.0f}s; the last state per member:\n"
                                       f"{last['obs'].text()}") from None


KIND = SymptomKind(
    "members_ready",
    "every control-plane member's own API server answers GET /readyz with HTTP 200 at its address while "
    "the cluster endpoint does not: members and InternalIPs read from the Node objects just before the "
    "change (port: kubeadm's advertise-address annotation of the member's kube-apiserver pod, else 6443), "
    "asked with the kubeconfig's own credentials and CA, TLS verified; a probe that did not run is not ready",
    {},
    _members_ready, monitor=_start_members_read)
