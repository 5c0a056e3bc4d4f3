"""Where the project's data directories are: faults/, labs/ and clusters/ beside the package (a
checkout, an editable install), else the copies a pip install put under
PREFIX/share/kube-breakfix/ (pyproject.toml's data-files)."""
from __future__ import annotations

import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
INSTALLED = Path(sys.prefix) / "share" / "kube-breakfix"


def data_dir(name: str) -> Path:
    """The directory NAME of the checkout when there is one, else the installed copy (the checkout's
    path when neither exists, so that an error names where it looked first)."""
    here = CHECKOUT / name
    if here.is_dir() or not (INSTALLED / name).is_dir():
        return here
    return INSTALLED / name
