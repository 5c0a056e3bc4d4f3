"""Access to a node through testinfra (`docker://name`, `ssh://user@host`, `local://`).
Every remote command is bounded by coreutils `timeout` on the node."""
from __future__ import annotations

import base64
import hashlib
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

from .errors import NodeUnreachable

MANIFEST_DIR = "/etc/kubernetes/manifests"
BACKUP_DIR = "/var/lib/kube-breakfix/backups"   # outside the manifests dir: the kubelet never loads it


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


class Node:
    def __init__(self, spec: str, sudo: bool = False, default_timeout: float = 30.0):
        import testinfra  # imported here so pure-logic users of the engine don't need it

        self.spec = spec
        self.default_timeout = default_timeout
        try:
            self.host = testinfra.get_host(spec, sudo=sudo)
        except Exception as exc:  # noqa: BLE001
            raise NodeUnreachable(f"node {spec}: cannot open: {exc}") from None

    def __repr__(self) -> str:
        return f"Node({self.spec})"

    def run(self, cmd: str, timeout: float | None = None) -> Result:
        t = int(timeout or self.default_timeout)
        wrapped = f"timeout -k 5 {t} sh -c {shlex.quote(cmd)}"
        try:
            out = self.host.run(wrapped)
        except Exception as exc:  # noqa: BLE001 - transport errors (docker gone, ssh refused)
            raise NodeUnreachable(f"node {self.spec}: {type(exc).__name__}: {exc}") from None
        if out.rc == 124:
            out_stderr = (out.stderr or "") + f"\n(timed out after {t}s: {cmd})"
            return Result(124, out.stdout, out_stderr)
        return Result(out.rc, out.stdout, out.stderr)

    def check(self, cmd: str, timeout: float | None = None) -> str:
        r = self.run(cmd, timeout)
        if not r.ok:
            raise NodeUnreachable(f"node {self.spec}: `{cmd}` exited {r.rc}: {r.stderr.strip()[:300]}")
        return r.stdout

    def ping(self) -> None:
        """Prove the node answers and looks like a kubeadm node."""
        r = self.run("echo breakfix-ping", timeout=15)
        if not r.ok or "breakfix-ping" not in r.stdout:
            why = [ln for ln in (r.stderr or r.stdout).strip().splitlines() if ln.strip()]
            raise NodeUnreachable(f"node {self.spec}: not reachable: {why[-1][:300] if why else f'exit {r.rc}'}")
        r = self.run(f"test -d {MANIFEST_DIR} && echo ok", timeout=15)
        if not r.ok or "ok" not in r.stdout:
            raise NodeUnreachable(f"node {self.spec}: no {MANIFEST_DIR} (not a kubeadm control-plane node?)")

    # --- files -----------------------------------------------------------------------------
    def read_bytes(self, path: str) -> bytes:
        out = self.check(f"base64 -w0 {shlex.quote(path)}")
        return base64.b64decode(out.strip())

    def exists(self, path: str) -> bool:
        return self.run(f"test -e {shlex.quote(path)}").ok

    def sha256(self, path: str) -> str:
        return self.check(f"sha256sum {shlex.quote(path)}").split()[0]

    def write_atomic(self, path: str, data: bytes, mode: str = "0600") -> None:
        """Write next to PATH as a dot-file (the kubelet ignores names starting with a dot), then
        rename over PATH: the kubelet never sees a half-written manifest."""
        p = PurePosixPath(path)
        tmp = str(p.parent / f".{p.name}.breakfix-tmp")
        b64 = base64.b64encode(data).decode()
        self.check(
            f"umask 077; printf %s {shlex.quote(b64)} | base64 -d > {shlex.quote(tmp)} && "
            f"chmod {mode} {shlex.quote(tmp)} && mv -f {shlex.quote(tmp)} {shlex.quote(path)}"
        )
        want = hashlib.sha256(data).hexdigest()
        got = self.sha256(path)
        if got != want:
            raise NodeUnreachable(f"node {self.spec}: wrote {path} but its sha256 is {got}, expected {want}")

    def file_mode(self, path: str) -> str:
        return self.check(f"stat -c %a {shlex.quote(path)}").strip()

    def checksums(self, paths: list[str]) -> dict[str, str]:
        """sha256 of every regular file under the given paths (files or directories)."""
        quoted = " ".join(shlex.quote(p) for p in paths)
        out = self.check(f"find {quoted} -type f 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum", timeout=60)
        sums = {}
        for line in out.splitlines():
            digest, _, name = line.partition("  ")
            if name:
                sums[name] = digest
        return sums

    # --- services and containers -------------------------------------------------------------
    def unit_state(self, unit: str) -> str:
        return self.run(f"systemctl is-active {shlex.quote(unit)}").stdout.strip() or "unknown"

    def systemctl(self, action: str, unit: str) -> None:
        self.check(f"systemctl {action} {shlex.quote(unit)}", timeout=60)

    def journal(self, unit: str, since: str | None = None, lines: int = 200) -> str:
        s = f" --since {shlex.quote(since)}" if since else ""
        return self.run(f"journalctl -u {shlex.quote(unit)} --no-pager -o short-precise -n {lines}{s}",
                        timeout=30).stdout

    def now(self) -> str:
        return self.check("date '+%Y-%m-%d %H:%M:%S'").strip()

    def crictl(self, args: str, timeout: float = 30) -> Result:
        return self.run(f"crictl {args}", timeout=timeout)
