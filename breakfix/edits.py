"""Edits on parsed documents (static pod manifests, kubelet config, kubeconfigs). Pure functions:
they take a dict and return a new dict, never touching text with sed. Each op is named in fault
files as `op:`; the registry EDIT_OPS maps the name to (function, required params, optional
params), each parameter with its type (params.py)."""
from __future__ import annotations

import copy
import re
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

from .errors import BreakfixError
from .params import ABS_PATH, ANY, ANY_TEXT, FIELD_PATH, FLAG, FLAG_VALUE, PORT, TEXT, Param, choice


class EditError(BreakfixError):
    pass


def _container(doc: dict, name: str | None) -> dict:
    containers = (doc.get("spec") or {}).get("containers") or []
    if not containers:
        raise EditError("manifest has no spec.containers")
    if name is None:
        return containers[0]
    for c in containers:
        if c.get("name") == name:
            return c
    raise EditError(f"no container named {name!r} (have {[c.get('name') for c in containers]})")


def _argv(c: dict) -> list:
    """kubeadm puts the binary and its flags in `command`; some manifests use `args`."""
    return c.setdefault("command", [])


def set_command(doc: dict, value: str, container: str | None = None) -> dict:
    """Replace the executable (command[0])."""
    out = copy.deepcopy(doc)
    argv = _argv(_container(out, container))
    if not argv:
        raise EditError("container has no command to replace")
    argv[0] = value
    return out


def _flag_index(argv: list, flag: str) -> int | None:
    for i, a in enumerate(argv):
        if isinstance(a, str) and (a == flag or a.startswith(flag + "=")):
            return i
    return None


def set_flag(doc: dict, flag: str, value: str | None = None, container: str | None = None) -> dict:
    """Set `--flag=value` (replacing an existing one, else appending). value None: bare flag."""
    if not flag.startswith("-"):
        raise EditError(f"flag must start with '-': {flag!r}")
    out = copy.deepcopy(doc)
    c = _container(out, container)
    argv = c.get("command") if c.get("command") else c.setdefault("args", [])
    item = flag if value is None else f"{flag}={value}"
    i = _flag_index(argv, flag)
    if i is None:
        argv.append(item)
    else:
        argv[i] = item
    return out


def remove_flag(doc: dict, flag: str, container: str | None = None) -> dict:
    out = copy.deepcopy(doc)
    c = _container(out, container)
    argv = c.get("command") if c.get("command") else c.get("args", [])
    i = _flag_index(argv, flag)
    if i is None:
        raise EditError(f"flag {flag} not present")
    del argv[i]
    return out


def get_flag(doc: dict, flag: str, container: str | None = None) -> str | None:
    c = _container(doc, container)
    argv = (c.get("command") or []) + (c.get("args") or [])
    i = _flag_index(argv, flag)
    if i is None:
        return None
    a = argv[i]
    return a.split("=", 1)[1] if "=" in a else ""


def set_host_path(doc: dict, volume: str, value: str, type: str | None = None) -> dict:  # noqa: A002
    out = copy.deepcopy(doc)
    for v in (out.get("spec") or {}).get("volumes") or []:
        if v.get("name") == volume:
            if "hostPath" not in v:
                raise EditError(f"volume {volume!r} is not a hostPath volume")
            v["hostPath"]["path"] = value
            if type is not None:
                v["hostPath"]["type"] = type
            return out
    raise EditError(f"no volume named {volume!r}")


def set_image(doc: dict, value: str, pull_policy: str | None = None, container: str | None = None) -> dict:
    out = copy.deepcopy(doc)
    c = _container(out, container)
    c["image"] = value
    if pull_policy:
        c["imagePullPolicy"] = pull_policy
    return out


def set_probe_port(doc: dict, value: int, probe: str = "livenessProbe", container: str | None = None) -> dict:
    out = copy.deepcopy(doc)
    c = _container(out, container)
    p = c.get(probe)
    if not p:
        raise EditError(f"container has no {probe}")
    for handler in ("httpGet", "tcpSocket", "grpc"):
        if handler in p:
            p[handler]["port"] = int(value)
            return out
    raise EditError(f"{probe} has no port to change")


# `a.b[0]`, and `data["config.conf"]` for a key with dots in it.
_PATH_TOKEN = re.compile(r'([^.\[\]"]+)|\[(\d+)\]|\["([^"]+)"\]')


def _walk(doc: Any, path: str, create: bool):
    tokens = [(m.group(1) or m.group(3), m.group(2)) for m in _PATH_TOKEN.finditer(path)]
    if not tokens:
        raise EditError(f"empty path {path!r}")
    node = doc
    for key, idx in tokens[:-1]:
        if idx is not None:
            node = node[int(idx)]
        else:
            if key not in node:
                if not create:
                    raise EditError(f"path {path!r}: no key {key!r}")
                node[key] = {}
            node = node[key]
    return node, tokens[-1]


def set_field(doc: dict, path: str, value: Any) -> dict:
    """Set a field by dotted path (`authentication.x509.clientCAFile`, `clusters[0].cluster.server`)."""
    out = copy.deepcopy(doc)
    try:
        parent, (key, idx) = _walk(out, path, create=True)
        if idx is not None:
            parent[int(idx)] = value
        else:
            parent[key] = value
    except (KeyError, IndexError, TypeError) as exc:
        raise EditError(f"path {path!r}: {exc}") from None
    return out


def replace_text(doc: dict, path: str, old: str, new: str) -> dict:
    """In the text at PATH (a ConfigMap's Corefile, an embedded config), replace OLD (which must be
    there, exactly once) by NEW."""
    text = get_field(doc, path)
    if not isinstance(text, str):
        raise EditError(f"path {path!r} is not text")
    if text.count(old) != 1:
        raise EditError(f"path {path!r}: {old!r} found {text.count(old)} times, expected once")
    return set_field(doc, path, text.replace(old, new))


def get_field(doc: Any, path: str) -> Any:
    try:
        parent, (key, idx) = _walk(doc, path, create=False)
        return parent[int(idx)] if idx is not None else parent[key]
    except (KeyError, IndexError, TypeError) as exc:
        raise EditError(f"path {path!r}: {exc}") from None


def set_url_port(doc: dict, path: str, value: int) -> dict:
    """Change only the port of the URL at PATH (e.g. a kubeconfig's server)."""
    url = get_field(doc, path)
    if not isinstance(url, str) or "://" not in url:
        raise EditError(f"path {path!r} is not a URL: {url!r}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return set_field(doc, path, urlunsplit(parts._replace(netloc=f"{host}:{int(value)}")))


HOST_PATH_TYPES = choice("DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice",
                         "BlockDevice")

EDIT_OPS: dict[str, tuple[Callable[..., dict], dict[str, Param], dict[str, Param]]] = {
    # op: (function, required params, optional params); every parameter with its type, which the
    # catalog checks when it loads a fault file (tests/unit/test_edits.py: they match the functions)
    "set_command": (set_command, {"value": TEXT}, {"container": TEXT}),
    "set_flag": (set_flag, {"flag": FLAG}, {"value": FLAG_VALUE, "container": TEXT}),
    "remove_flag": (remove_flag, {"flag": FLAG}, {"container": TEXT}),
    "set_host_path": (set_host_path, {"volume": TEXT, "value": ABS_PATH}, {"type": HOST_PATH_TYPES}),
    "set_image": (set_image, {"value": TEXT},
                  {"pull_policy": choice("Always", "IfNotPresent", "Never"), "container": TEXT}),
    "set_probe_port": (set_probe_port, {"value": PORT},
                       {"probe": choice("livenessProbe", "readinessProbe", "startupProbe"), "container": TEXT}),
    "set_field": (set_field, {"path": FIELD_PATH, "value": ANY}, {}),
    "set_url_port": (set_url_port, {"path": FIELD_PATH, "value": PORT}, {}),
    "replace_text": (replace_text, {"path": FIELD_PATH, "old": TEXT, "new": ANY_TEXT}, {}),
}


def apply_edits(doc: dict, edits: list[dict]) -> dict:
    for e in edits:
        fn, _, _ = EDIT_OPS[e["op"]]
        params = {k: v for k, v in e.items() if k != "op"}
        doc = fn(doc, **params)
    return doc


def diff_text(before: str, after: str, name: str) -> str:
    import difflib
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                        f"a/{name}", f"b/{name}"))
