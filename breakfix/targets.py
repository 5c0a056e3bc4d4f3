"""The target kinds as strategies with one protocol. Each kind says, for a fault's `target`:

- prepare(lab, inj): read what the proof needs (the sandbox, the unit's invocation, the original
  bytes or fields) and compute the change. Raises before anything changes when that is impossible.
- entry(lab, inj): the journal entry: its undo, with the arguments the undo needs (written by
  Lab.inject before the change, on the node, or on the host for what is no node's).
- apply(lab, inj): the change itself.
- took_effect(lab, inj): wait for positive proof that the change is in force. A failed probe, an
  empty listing or an unknown state is never proof.
- recovered(lab, inj): after the undo, what proves the target itself is back (before the
  component's own health and the whole control plane's).
- undo(journal, entry): put back what ENTRY recorded, proven; the one undo of the kind, called by
  the test that made the change, by `breakfix restore` and by the next run after a kill -9
  (targets.replay dispatches on entry.kind). What ENTRY holds is the kind's journal record,
  targets_spec.TARGET_KINDS[kind].journal.

The table of kinds a fault file may name, with their fields, is targets_spec.TARGET_KINDS; this
module is the engine side of it (assert at the end: the two name the same kinds)."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import subprocess
from typing import Any, Protocol

import yaml

from . import edits
from .errors import InfrastructureError, NoEffect, WaitTimeout
from .journal import Entry, Journal, JournalError
from .killpoints import killpoint
from .node import MANIFEST_DIR
from .probes import endpoint
from .targets_spec import HOST_KINDS, TARGET_KINDS
from .view import sandboxes
from .waits import Observation, wait_until

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


class TargetKind(Protocol):
    name: str

    def prepare(self, lab, inj) -> None: ...
    def entry(self, lab, inj): ...
    def apply(self, lab, inj) -> None: ...
    def took_effect(self, lab, inj) -> None: ...
    def recovered(self, lab, inj) -> None: ...
    def undo(self, journal, entry) -> None: ...


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- node files: one undo, "put the original bytes back" -----------------------------------------
class _NodeFile:
    """Shared by every kind that changes an existing node file: the original is backed up (outside
    the manifests directory) and its sha256 journaled; the undo writes the backup back and proves it
    byte for byte (Journal.restore_file), then restarts the unit or the static pod the entry names.
    Its journal entry: targets_spec.NodeFileRecord."""
    name = "file"
    host = False

    def path(self, lab, target) -> str:
        return target.path

    def read_original(self, lab, inj) -> None:
        inj.path = self.path(lab, inj.fault.target)
        inj.original = lab.node.read_bytes(inj.path)
        inj.original_sha = _sha(inj.original)
        inj.mode = lab.node.file_mode(inj.path)

    def edited(self, inj) -> bytes:
        doc = yaml.safe_load(inj.original)
        return yaml.safe_dump(edits.apply_edits(doc, list(inj.fault.edits)), sort_keys=False,
                              default_flow_style=False).encode()

    def entry(self, lab, inj):
        return Entry(fault=inj.fault.id, kind=self.name, path=inj.path, sha256=inj.original_sha, mode=inj.mode)

    def write(self, lab, inj) -> None:
        lab.reporter.attach(f"diff {inj.path}", edits.diff_text(inj.original.decode(errors="replace"),
                                                               inj.new_bytes.decode(errors="replace"), inj.path),
                            "diff")
        lab.node.write_atomic(inj.path, inj.new_bytes, mode=inj.mode, before_rename=lambda: killpoint("during-write"))

    def recovered(self, lab, inj) -> None:
        pass

    def undo(self, journal, entry) -> None:
        journal.restore_file(entry)
        killpoint("during-restore")
        if entry.restart_unit:
            killpoint("during-unit-restart")
            journal.node.systemctl("restart", entry.restart_unit)
        if entry.restart_static_pod:
            killpoint("during-unit-restart")
            journal.node.restart_static_container(entry.restart_static_pod)
        journal.finish(entry)


class ManifestTarget(_NodeFile):
    """A static pod manifest edited: the kubelet runs the edited pod (a new sandbox uid)."""
    name = "manifest"

    def path(self, lab, target) -> str:
        return f"{MANIFEST_DIR}/{target.path}"

    def prepare(self, lab, inj) -> None:
        inj.before_uid = lab.sandbox_uid(inj.fault.component)
        if not inj.before_uid:
            raise InfrastructureError(f"no ready {inj.fault.component} pod sandbox on the node before the fault "
                                      f"(crictl pods): its change could not be proven; nothing changed")
        self.read_original(lab, inj)
        inj.new_bytes = self.edited(inj)

    def apply(self, lab, inj) -> None:
        self.write(lab, inj)

    def took_effect(self, lab, inj) -> None:
        static_pod_changed(lab, inj, inj.fault.component, f"kubelet runs the edited {inj.fault.target.path}")

    def recovered(self, lab, inj) -> None:
        static_pod_back(lab, inj, inj.fault.component, f"kubelet runs the restored {inj.fault.target.path}")


def static_pod_changed(lab, inj, component: str, what: str) -> None:
    """The kubelet acted on a change of COMPONENT's static pod: a new pod (uid = hash of the
    manifest) runs, or the old sandbox is still listed but no longer ready (an edited pod may never
    get a sandbox). A sandbox that vanished from the listing proves nothing."""

    def changed() -> Observation:
        states = sandboxes(lab.node, lab.node_name, component)
        if states is None:
            return Observation(False, "crictl pods failed: the node's view is unknown")
        ready = {u for u, st in states.items() if st == "SANDBOX_READY"}
        ok = bool(ready - {inj.before_uid}) or states.get(inj.before_uid) == "SANDBOX_NOTREADY"
        return Observation(ok, f"sandboxes of {component}: {states or 'none listed'} (before: {inj.before_uid} ready)")
    wait_until(changed, what, lab.t("took_effect"), interval=lab.poll)


def static_pod_back(lab, inj, component: str, what: str) -> None:
    if inj.before_uid:
        wait_until(lambda: Observation(lab.sandbox_uid(component) == inj.before_uid,
                                       f"ready sandbox {lab.sandbox_uid(component)}, want {inj.before_uid}"),
                   what, lab.t("recover"), interval=lab.poll)


def _unit_restarted(lab, inj, unit: str) -> None:
    def restarted() -> Observation:
        now = lab.invocation_id(unit)
        return Observation(bool(now) and now != inj.before_invocation,
                           f"{unit} invocation {now or '(none)'} (before {inj.before_invocation})")
    wait_until(restarted, f"{unit} restarted", lab.t("took_effect"), interval=lab.poll)


def _before_invocation(lab, inj, unit: str) -> None:
    inj.before_invocation = lab.invocation_id(unit)
    if not inj.before_invocation:
        raise InfrastructureError(f"{unit} has no systemd invocation id (not running?); nothing changed")


class FileTarget(_NodeFile):
    """A node YAML file (kubelet config, kubeconfig) edited, then read again: `unit` restarted, or
    the container of `static_pod` stopped gracefully (the kubelet starts a new one)."""
    name = "file"

    def prepare(self, lab, inj) -> None:
        unit, pod = inj.fault.target.unit, inj.fault.target.static_pod
        if unit:
            _before_invocation(lab, inj, unit)
        else:
            inj.before_container = lab.node.running_container(pod)
            if not inj.before_container:
                raise InfrastructureError(f"no running {pod} container on the node: its restart could not be "
                                          f"proven; nothing changed")
        self.read_original(lab, inj)
        inj.new_bytes = self.edited(inj)

    def entry(self, lab, inj):
        e = super().entry(lab, inj)
        e.restart_unit = inj.fault.target.unit
        e.restart_static_pod = inj.fault.target.static_pod
        return e

    def apply(self, lab, inj) -> None:
        self.write(lab, inj)
        if inj.fault.target.unit:
            lab.node.systemctl("restart", inj.fault.target.unit)
        else:
            lab.node.restart_static_container(inj.fault.target.static_pod)

    def took_effect(self, lab, inj) -> None:
        pod = inj.fault.target.static_pod
        if not pod:
            _unit_restarted(lab, inj, inj.fault.target.unit)
            return

        def restarted() -> Observation:
            now = lab.node.running_container(pod)
            return Observation(bool(now) and now != inj.before_container,
                               f"running {pod} container {now or '(none)'} (before {inj.before_container})")
        wait_until(restarted, f"{pod} started again with the edited file", lab.t("took_effect"), interval=lab.poll)


class ServiceTarget:
    """A systemd unit stopped; undone by starting it."""
    name = "service"
    host = False

    def prepare(self, lab, inj) -> None:
        _before_invocation(lab, inj, inj.fault.target.unit)

    def entry(self, lab, inj):
        return Entry(fault=inj.fault.id, kind=self.name, start_unit=inj.fault.target.unit)

    def apply(self, lab, inj) -> None:
        t = inj.fault.target
        lab.node.systemctl(t.action, t.unit)

    def took_effect(self, lab, inj) -> None:
        unit = inj.fault.target.unit

        def stopped() -> Observation:
            state = lab.node.unit_state(unit)
            return Observation(state in ("inactive", "failed"), f"{unit} is {state}")
        wait_until(stopped, f"{unit} stopped", lab.t("took_effect"), interval=lab.poll)

    def recovered(self, lab, inj) -> None:
        pass

    def undo(self, journal, entry) -> None:
        killpoint("during-restore")
        journal.node.systemctl("start", entry.start_unit)
        journal.finish(entry)


class FileRemovedTarget(_NodeFile):
    """A node file removed (a static pod manifest moved out of the manifests directory, a CNI plugin
    binary gone). Backup first; the undo puts the original bytes and mode back. With `static_pod`,
    proof is that static pod's sandbox no longer ready; otherwise the file being gone."""
    name = "file_removed"

    def prepare(self, lab, inj) -> None:
        pod = inj.fault.target.static_pod
        if pod:
            inj.before_uid = lab.sandbox_uid(pod)
            if not inj.before_uid:
                raise InfrastructureError(f"no ready {pod} pod sandbox on the node before the fault; nothing changed")
        # Only its checksum and mode: the bytes stay on the node (a plugin binary is megabytes; the
        # backup and the undo copy it there, a symlink as a symlink).
        inj.path = self.path(lab, inj.fault.target)
        if not lab.node.exists(inj.path):
            raise InfrastructureError(f"{inj.path} does not exist on the node; nothing changed")
        inj.original_sha = lab.node.sha256(inj.path)
        inj.mode = lab.node.file_mode(inj.path)

    def apply(self, lab, inj) -> None:
        killpoint("during-write")
        lab.node.remove(inj.path)

    def took_effect(self, lab, inj) -> None:
        pod = inj.fault.target.static_pod
        if pod:

            def gone() -> Observation:
                states = sandboxes(lab.node, lab.node_name, pod)
                if states is None:
                    return Observation(False, "crictl pods failed: the node's view is unknown")
                return Observation(states.get(inj.before_uid) == "SANDBOX_NOTREADY",
                                   f"sandboxes of {pod}: {states or 'none listed'} (before: {inj.before_uid} ready)")
            wait_until(gone, f"kubelet stopped {pod}", lab.t("took_effect"), interval=lab.poll)
            return
        wait_until(lambda: Observation(not lab.node.exists(inj.path), f"{inj.path} exists: {lab.node.exists(inj.path)}"),
                   f"{inj.path} gone", lab.t("took_effect"), interval=lab.poll)

    def recovered(self, lab, inj) -> None:
        pod = inj.fault.target.static_pod
        if pod:
            static_pod_back(lab, inj, pod, f"kubelet runs {pod} again")


class FileCreatedTarget(_NodeFile):
    """A file that did not exist is created: a copy of `source` (a node file), with the fault's
    `edits` applied when it has any (a stale backup left in the manifests directory). The journal
    records that it did not exist; the undo deletes it. With `static_pod`, proof is that static
    pod's sandbox changing (the kubelet runs the copy); otherwise the file in place."""
    name = "file_created"

    def prepare(self, lab, inj) -> None:
        t = inj.fault.target
        inj.path = t.path
        if lab.node.exists(inj.path):
            raise InfrastructureError(f"{inj.path} already exists on the node; nothing changed")
        pod = t.static_pod
        if pod:
            inj.before_uid = lab.sandbox_uid(pod)
            if not inj.before_uid:
                raise InfrastructureError(f"no ready {pod} pod sandbox on the node before the fault; nothing changed")
        src = t.source
        inj.original = lab.node.read_bytes(src)
        inj.mode = lab.node.file_mode(src)
        inj.new_bytes = self.edited(inj) if inj.fault.edits else inj.original
        inj.original_sha = None

    def entry(self, lab, inj):
        return Entry(fault=inj.fault.id, kind=self.name, path=inj.path, created=_sha(inj.new_bytes))

    def apply(self, lab, inj) -> None:
        lab.reporter.attach(f"new file {inj.path}", inj.new_bytes.decode(errors="replace"))
        lab.node.write_atomic(inj.path, inj.new_bytes, mode=inj.mode, before_rename=lambda: killpoint("during-write"))

    def took_effect(self, lab, inj) -> None:
        pod = inj.fault.target.static_pod
        if pod:
            static_pod_changed(lab, inj, pod, f"kubelet runs the copy {inj.path}")
            return
        wait_until(lambda: Observation(lab.node.exists(inj.path), f"{inj.path} exists: {lab.node.exists(inj.path)}"),
                   f"{inj.path} created", lab.t("took_effect"), interval=lab.poll)

    def recovered(self, lab, inj) -> None:
        pod = inj.fault.target.static_pod
        if pod:
            static_pod_back(lab, inj, pod, f"kubelet runs {pod} from its own manifest again")

    def undo(self, journal, entry) -> None:
        journal.remove_created(entry)
        killpoint("during-restore")
        journal.finish(entry)


class CertificateTarget(_NodeFile):
    """A certificate on the node replaced by one re-issued from the same CA for the same key and
    names, valid only in the past (`expired_days` ago it ran out). Generated on the host with the
    `cryptography` package from the node's certificate and the CA's key. Backup and undo as any
    node file (the original bytes back, proven). Proof: the cluster endpoint serves the new
    certificate (the API server reloads its serving certificate from disk) when `served: true`,
    else the file's bytes."""
    name = "certificate"

    def prepare(self, lab, inj) -> None:
        t = inj.fault.target
        self.read_original(lab, inj)
        ca = t.ca
        ca_key = t.ca_key or ca.rsplit(".", 1)[0] + ".key"
        inj.new_bytes = reissue_expired(inj.original, lab.node.read_bytes(ca), lab.node.read_bytes(ca_key),
                                        int(t.expired_days))
        if t.served and served_certificate(lab.kube.kubeconfig) is None:
            raise InfrastructureError("the cluster endpoint's certificate cannot be read before the fault: its "
                                      "change could not be proven; nothing changed")

    def apply(self, lab, inj) -> None:
        lab.reporter.attach(f"new certificate {inj.path}", inj.new_bytes.decode())
        lab.node.write_atomic(inj.path, inj.new_bytes, mode=inj.mode, before_rename=lambda: killpoint("during-write"))

    def took_effect(self, lab, inj) -> None:
        want = pem_der_sha(inj.new_bytes)
        if inj.fault.target.served:
            def served() -> Observation:
                got = served_certificate(lab.kube.kubeconfig)
                return Observation(got == want, f"served certificate sha256 {got or '(no handshake)'}, new {want}")
            wait_until(served, "the endpoint serves the new certificate", lab.t("took_effect"), interval=lab.poll)
        else:
            wait_until(lambda: Observation(lab.node.sha256(inj.path) == _sha(inj.new_bytes), inj.path),
                       f"{inj.path} replaced", lab.t("took_effect"), interval=lab.poll)

    def recovered(self, lab, inj) -> None:
        if inj.fault.target.served:
            want = pem_der_sha(inj.original)

            def served() -> Observation:
                got = served_certificate(lab.kube.kubeconfig)
                return Observation(got == want, f"served certificate sha256 {got or '(no handshake)'}, original {want}")
            wait_until(served, "the endpoint serves the original certificate", lab.t("recover"), interval=lab.poll)


def reissue_expired(cert_pem: bytes, ca_pem: bytes, ca_key_pem: bytes, expired_days: int) -> bytes:
    """CERT re-issued by the CA: the same subject, public key and extensions, a new serial, valid
    from 30 days + EXPIRED_DAYS ago until EXPIRED_DAYS ago."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    cert = x509.load_pem_x509_certificate(cert_pem)
    ca = x509.load_pem_x509_certificate(ca_pem)
    key = serialization.load_pem_private_key(ca_key_pem, password=None)
    now = dt.datetime.now(dt.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(cert.subject).issuer_name(ca.subject)
         .public_key(cert.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(days=30 + expired_days))
         .not_valid_after(now - dt.timedelta(days=expired_days)))
    for ext in cert.extensions:
        if ext.oid == x509.oid.ExtensionOID.AUTHORITY_KEY_IDENTIFIER:
            continue
        b = b.add_extension(ext.value, ext.critical)
    with_aki = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), False)
    return with_aki.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def pem_der_sha(pem: bytes) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    return _sha(x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER))


def served_certificate(kubeconfig) -> str | None:
    """sha256 of the DER certificate the endpoint serves (no verification: this only reads it), or
    None when no handshake happened."""
    import socket
    import ssl
    host, port, _ = endpoint(kubeconfig)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=3) as s, ctx.wrap_socket(s, server_hostname=host) as t:
            der = t.getpeercert(binary_form=True)
    except OSError:
        return None
    return _sha(der) if der else None


# --- Kubernetes API objects -------------------------------------------------------------------
RESOURCES = {
    # resource: (api attribute of Kube, read method, patch method)
    "configmap": ("core", "read_namespaced_config_map", "patch_namespaced_config_map"),
    "deployment": ("apps", "read_namespaced_deployment", "patch_namespaced_deployment"),
    "daemonset": ("apps", "read_namespaced_daemon_set", "patch_namespaced_daemon_set"),
}


def parse_ref(ref: str) -> tuple[str, str, str]:
    """`configmap/kube-system/coredns` -> (resource, namespace, name)."""
    kind, ns, name = ref.split("/")
    return kind, ns, name


def _read(kube, ref: str) -> dict:
    kind, ns, name = parse_ref(ref)
    api, read, _ = RESOURCES[kind]
    obj = getattr(getattr(kube, api), read)(name, ns, _request_timeout=10)
    return kube.api_client.sanitize_for_serialization(obj)


def _patch(kube, ref: str, ops: list[dict]):
    kind, ns, name = parse_ref(ref)
    api, _, patch = RESOURCES[kind]
    return getattr(getattr(kube, api), patch)(name, ns, ops, _request_timeout=10)


def _pointer(path: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)


def _get(doc: dict, parts: list[str]) -> Any:
    for p in parts:
        if not isinstance(doc, dict) or p not in doc:
            return None
        doc = doc[p]
    return doc


def recorded_paths(fault_edits) -> list[list[str]]:
    """What an object's edits touch, at the granularity the journal keeps: `data` whole (a
    ConfigMap's keys), else the first two segments (spec.replicas)."""
    out = []
    for e in fault_edits:
        toks = [m.group(1) or m.group(3) or m.group(2) for m in edits._PATH_TOKEN.finditer(e["path"])]
        parts = toks[:1] if toks[0] == "data" else toks[:2]
        if parts not in out:
            out.append(parts)
    return out


def _replace_ops(fields: dict) -> list[dict]:
    ops = []
    for ptr, val in fields.items():
        ops.append({"op": "remove", "path": ptr} if val is None else {"op": "add", "path": ptr, "value": val})
    return ops


def restore_objects(journal: Journal, entry: Entry) -> None:
    """Every recorded field of every object back to its original value (JSON patch), proven by
    reading them back."""
    if journal.kube is None:
        raise JournalError(f"{entry.fault}: putting back {', '.join(entry.objects)} needs the API (a kubeconfig); "
                           f"nothing restored, journal {entry.file} kept")
    for ref, fields in entry.objects.items():
        try:
            _patch(journal.kube, ref, _replace_ops(fields))
            doc = _read(journal.kube, ref)
        except Exception as exc:  # noqa: BLE001 - API away or object gone: the entry stays
            raise JournalError(f"{entry.fault}: putting back {ref} failed ({type(exc).__name__}: "
                               f"{' '.join(str(exc).split())[:160]}); journal {entry.file} kept") from None
        for ptr, want in fields.items():
            got = _get(doc, ptr.strip("/").split("/"))
            if json.dumps(got, sort_keys=True) != json.dumps(want, sort_keys=True):
                raise JournalError(f"{entry.fault}: {ref} {ptr} differs from the original after the restore; "
                                   f"journal {entry.file} kept")


class ApiObjectTarget:
    """A Kubernetes API object patched (ConfigMap data, Deployment replicas) by the fault's `edits`
    (on the object as the API returns it). The journal (on the node) keeps the original values of
    every field the edits touch, by JSON pointer; the undo puts them back (JSON patch) and proves
    them equal. With `rollout` (a Deployment or DaemonSet whose pods read the config only at
    start): its pod template is restarted (kubectl rollout restart) and the undo puts the template's
    annotations back, so the controller returns to the original revision."""
    name = "api_object"
    host = False

    def prepare(self, lab, inj) -> None:
        t = inj.fault.target
        ref, roll = t.object, t.rollout
        doc = _read(lab.kube, ref)
        new = edits.apply_edits(doc, list(inj.fault.edits))
        fields, changed = {}, {}
        for parts in recorded_paths(inj.fault.edits):
            fields[_pointer(parts)] = _get(doc, parts)
            changed[_pointer(parts)] = _get(new, parts)
        inj.context.object_fields = {ref: fields}
        inj.context.object_new = {ref: changed}
        if roll:
            wl = _read(lab.kube, roll)
            ptr = _pointer(["spec", "template", "metadata", "annotations"])
            inj.context.object_fields[roll] = {ptr: _get(wl, ["spec", "template", "metadata", "annotations"])}
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            inj.context.object_new[roll] = {ptr: {**(inj.context.object_fields[roll][ptr] or {}),
                                                     RESTARTED_AT: f"kube-breakfix {stamp}"}}
        inj.path = None

    def entry(self, lab, inj):
        return Entry(fault=inj.fault.id, kind=self.name, objects=inj.context.object_fields)

    def apply(self, lab, inj) -> None:
        ref = inj.fault.target.object
        before, after = inj.context.object_fields[ref], inj.context.object_new[ref]
        lab.reporter.attach(f"patch {ref}", edits.diff_text(json.dumps(before, indent=1, sort_keys=True) + "\n",
                                                           json.dumps(after, indent=1, sort_keys=True) + "\n", ref), "diff")
        killpoint("during-write")
        _patch(lab.kube, ref, _replace_ops(after))
        roll = inj.fault.target.rollout
        if roll:
            res = _patch(lab.kube, roll, _replace_ops(inj.context.object_new[roll]))
            inj.context.rollout_generation = res.metadata.generation

    def took_effect(self, lab, inj) -> None:
        ref, roll = inj.fault.target.object, inj.fault.target.rollout

        def applied() -> Observation:
            doc = _read(lab.kube, ref)
            want = inj.context.object_new[ref]
            got = {p: _get(doc, p.strip("/").split("/")) for p in want}
            ok = all(json.dumps(got[p], sort_keys=True) == json.dumps(want[p], sort_keys=True) for p in want)
            seen = f"{ref}: fields {'as patched' if ok else 'not yet as patched'}"
            if ok and roll:
                wl = _read(lab.kube, roll)
                og = (wl.get("status") or {}).get("observedGeneration") or 0
                ok = og >= inj.context.rollout_generation
                seen += f"; {roll} observedGeneration {og}, patched generation {inj.context.rollout_generation}"
            return Observation(ok, seen)
        wait_until(applied, f"{ref} patched" + (f", {roll} rolling" if roll else ""), lab.t("took_effect"),
                   interval=lab.poll)

    def recovered(self, lab, inj) -> None:
        pass

    def undo(self, journal, entry) -> None:
        restore_objects(journal, entry)
        killpoint("during-restore")
        journal.finish(entry)


# --- containers on the host (kind's load balancer) ------------------------------------------------
def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def container_running(name: str) -> bool | None:
    """True/False, or None when docker could not say (which proves nothing)."""
    try:
        r = docker("inspect", "-f", "{{.State.Running}}", name, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {"true": True, "false": False}.get(r.stdout.strip()) if r.returncode == 0 else None


def start_container(journal: Journal, entry: Entry) -> None:
    r = docker("start", entry.container)
    if r.returncode != 0 or container_running(entry.container) is not True:
        raise JournalError(f"{entry.fault}: docker start {entry.container} failed ({r.stderr.strip()[:160]}); "
                           f"journal {journal.path_of(entry)} kept")


def cluster_of(node_name: str) -> str:
    """The kind cluster a node belongs to (`NAME-control-plane[N]`, `NAME-worker[N]`)."""
    for suffix in ("-control-plane", "-worker"):
        if suffix in node_name:
            return node_name[: node_name.rindex(suffix)]
    return node_name


class HostContainerTarget:
    """A container on the host, no node (kind's `<cluster>-external-load-balancer`), stopped with
    `docker stop`; undone by `docker start`. Its journal is on the host (Journal's host store)."""
    name = "host_container"
    host = True

    def container(self, lab, target) -> str:
        return f"{cluster_of(lab.node_name)}-{target.container}"

    def prepare(self, lab, inj) -> None:
        inj.path = None
        name = self.container(lab, inj.fault.target)
        if container_running(name) is not True:
            raise InfrastructureError(f"host container {name} is not running (or docker cannot say); nothing changed")
        inj.context.container = name

    def entry(self, lab, inj):
        return Entry(fault=inj.fault.id, kind=self.name, container=inj.context.container)

    def apply(self, lab, inj) -> None:
        r = docker("stop", inj.context.container)
        if r.returncode != 0:
            raise InfrastructureError(f"docker stop {inj.context.container} exited {r.returncode}: "
                                      f"{r.stderr.strip()[:200]}")

    def took_effect(self, lab, inj) -> None:
        name = inj.context.container
        wait_until(lambda: Observation(container_running(name) is False, f"{name} running: {container_running(name)}"),
                   f"{name} stopped", lab.t("took_effect"), interval=lab.poll)

    def recovered(self, lab, inj) -> None:
        pass

    def undo(self, journal, entry) -> None:
        start_container(journal, entry)
        killpoint("during-restore")
        journal.finish(entry)


def _no_proof_is_a_verdict(cls: type) -> type:
    """CLS's took_effect, whose wait for proof running out of time is the verdict NoEffect (the
    fault did not take effect: Failed in the report), not a WaitTimeout (Broken)."""
    proof = cls.__dict__["took_effect"]

    @functools.wraps(proof)
    def took_effect(self, lab, inj) -> None:
        try:
            proof(self, lab, inj)
        except WaitTimeout as exc:
            raise NoEffect(f"{inj.fault.id} did not take effect", str(exc)) from None
    cls.took_effect = took_effect
    return cls


STRATEGIES: dict[str, TargetKind] = {s.name: s for s in (
    ManifestTarget(), FileTarget(), ServiceTarget(), FileRemovedTarget(), FileCreatedTarget(),
    CertificateTarget(), ApiObjectTarget(), HostContainerTarget())}
for _s in STRATEGIES.values():
    _no_proof_is_a_verdict(type(_s))
assert set(STRATEGIES) == set(TARGET_KINDS), "every declared target kind needs a strategy"
assert {k for k, s in STRATEGIES.items() if s.host} == set(HOST_KINDS), "targets_spec.HOST_KINDS: the host's kinds"


def strategy(kind: str) -> TargetKind:
    try:
        return STRATEGIES[kind]
    except KeyError:
        raise InfrastructureError(f"no strategy for target kind {kind!r}") from None


def replay(journal: Journal, entry: Entry) -> None:
    """Put back what ENTRY (of JOURNAL) changed with its target kind's one undo; the entry is removed
    only when that is proven. An entry without a kind (an older journal) is a file or a service by
    its fields. The test that made the change, `breakfix restore` and the next run after a hard kill
    all replay through here."""
    STRATEGIES[entry.target_kind].undo(journal._store(entry), entry)
