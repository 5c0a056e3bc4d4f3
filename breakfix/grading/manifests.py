"""Static pod manifests, checked as the kubelet will run them: every path a flag names must be
visible in the container (through its volumeMounts) and exist on the node (through the volume's
hostPath). Pure functions: the node is asked through the callables given."""
from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any, Callable

CREATE_TYPES = {"DirectoryOrCreate", "FileOrCreate"}   # the kubelet creates these: no need to exist


def _container0(doc: Any) -> dict | None:
    if not isinstance(doc, dict):
        return None
    spec = doc.get("spec")
    cs = spec.get("containers") if isinstance(spec, dict) else None
    return cs[0] if isinstance(cs, list) and cs and isinstance(cs[0], dict) else None


def _volumes(doc: Any) -> dict[str, dict]:
    spec = doc.get("spec") if isinstance(doc, dict) else None
    vols = spec.get("volumes") if isinstance(spec, dict) else None
    return {v["name"]: v for v in vols or [] if isinstance(v, dict) and isinstance(v.get("name"), str)}


def _mounts(c: dict) -> list[dict]:
    return [m for m in c.get("volumeMounts") or [] if isinstance(m, dict) and isinstance(m.get("mountPath"), str)]


@dataclass(frozen=True)
class HostPath:
    host: str | None          # the path on the node; None when the volume is not a hostPath
    volume: str | None        # the volume the path goes through; None when no mount covers it
    mount_path: str | None


def host_path_for(container_path: str, mounts: list[dict], volumes: dict[str, dict]) -> HostPath:
    """Where CONTAINER_PATH lives on the node, through the container's volumeMounts (the longest
    mountPath that contains it) and that volume's hostPath (plus subPath)."""
    best: dict | None = None
    p = posixpath.normpath(container_path)
    for m in mounts:
        mp = posixpath.normpath(m["mountPath"])
        if p == mp or p.startswith(mp.rstrip("/") + "/"):
            if best is None or len(mp) > len(posixpath.normpath(best["mountPath"])):
                best = m
    if best is None:
        return HostPath(None, None, None)
    mp = posixpath.normpath(best["mountPath"])
    vol = volumes.get(best.get("name", ""))
    hp = (vol or {}).get("hostPath")
    if not isinstance(hp, dict) or not isinstance(hp.get("path"), str):
        return HostPath(None, best.get("name"), mp)
    base = hp["path"].rstrip("/") or "/"
    if best.get("subPath"):
        base = posixpath.join(base, best["subPath"])
    rel = p[len(mp):].lstrip("/")
    return HostPath(posixpath.join(base, rel) if rel else base, best.get("name"), mp)


def _flag_paths(argv: list) -> list[tuple[str, str]]:
    """(--flag, path) for every flag value that is an absolute path under /etc/kubernetes."""
    out = []
    for a in argv:
        if not isinstance(a, str) or not a.startswith("--") or "=" not in a:
            continue
        flag, _, value = a.partition("=")
        for piece in value.split(","):
            piece = piece.strip()
            if piece == "/etc/kubernetes" or piece.startswith("/etc/kubernetes/"):
                out.append((flag, piece))
    return out


def manifest_problems(doc: Any, component: str, exists: Callable[[str], bool],
                      image_present: Callable[[str], bool]) -> list[str]:
    """Everything wrong with a static pod manifest, as one line each; [] when it is valid."""
    if not isinstance(doc, dict):
        return ["not a YAML mapping (a Pod object)"]
    problems = []
    if doc.get("kind") != "Pod":
        problems.append(f"kind is {doc.get('kind')!r}, not 'Pod'")
    c = _container0(doc)
    if c is None:
        return problems + ["no spec.containers[0]"]
    image = c.get("image")
    if not isinstance(image, str) or not image.strip():
        problems.append("spec.containers[0].image is missing")
    elif not image_present(image):
        problems.append(f"image {image} is not present on the node")
    argv = c.get("command")
    if not isinstance(argv, list) or not argv:
        problems.append("spec.containers[0].command is missing")
        argv = []
    elif not isinstance(argv[0], str) or posixpath.basename(argv[0]) != component:
        problems.append(f"command[0] is {argv[0]!r}, expected {component!r}")
    args = c.get("args") if isinstance(c.get("args"), list) else []
    volumes, mounts = _volumes(doc), _mounts(c)
    for m in mounts:
        if m.get("name") not in volumes:
            problems.append(f"volumeMount {m['mountPath']} names volume {m.get('name')!r}, which is not defined")
    for flag, path in _flag_paths(list(argv[1:]) + list(args)):
        hp = host_path_for(path, mounts, volumes)
        if hp.volume is None:
            problems.append(f"{flag}={path}: no volumeMount makes {path} visible in the container")
        elif hp.host is not None and not exists(hp.host):
            problems.append(f"{flag}={path}: {hp.host} does not exist on the node "
                            f"(volume {hp.volume!r} mounts it at {hp.mount_path})")
    for name, v in volumes.items():
        hp = v.get("hostPath")
        if not isinstance(hp, dict):
            continue
        path, typ = hp.get("path"), hp.get("type") or ""
        if not isinstance(path, str) or not path.startswith("/"):
            problems.append(f"volume {name!r}: hostPath.path {path!r} is not an absolute path")
        elif typ not in CREATE_TYPES and not exists(path):
            problems.append(f"volume {name!r}: hostPath {path} (type {typ or 'unset'}) does not exist on the node")
    return problems


def needed_paths(doc: Any, component: str) -> list[str]:
    """The node paths manifest_problems will ask about (so they can be tested in one round trip)."""
    seen: list[str] = []

    def record(p: str) -> bool:
        if p not in seen:
            seen.append(p)
        return True

    manifest_problems(doc, component, record, lambda _img: True)
    return seen
