"""CurveZMQ key files as ``maas keygen`` writes them (czmq's certificate
format): a ``curve`` section with ``public-key`` and, in ``NAME_secret``,
``secret-key``, both Z85 text. The broker's public key file, our secret one."""
from __future__ import annotations

import os
from typing import Dict, Optional, Tuple

from .errors import MaasError


def _read(path: str) -> Dict[str, str]:
    """The ``curve`` section's keys of the certificate at PATH."""
    found: Dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as cert:
            section = ""
            for line in cert:
                text = line.rstrip()
                if not text.strip() or text.lstrip().startswith("#"):
                    continue    # (Z85 has '#' in it: only whole-line comments)
                if not text[0].isspace():
                    section = text.strip()
                elif section == "curve":
                    name, _, value = text.strip().partition("=")
                    found[name.strip()] = value.strip().strip('"')
    except (OSError, UnicodeDecodeError) as exc:
        raise MaasError(f"curve key {path}: {exc}") from None
    return found


def _key(path: str, values: Dict[str, str], name: str, what: str) -> bytes:
    key = values.get(name, "")
    if len(key) != 40:
        raise MaasError(f"curve key {path}: not {what} (maas keygen)")
    return key.encode()


def load(secret_path: Optional[str],
         broker_path: Optional[str]) -> Optional[Tuple[bytes, bytes, bytes]]:
    """(our public, our secret, the broker's public) Z85 keys, or None when
    neither path is given. SECRET_PATH may name ``NAME`` when ``NAME_secret``
    sits beside it, as in C. MaasError naming the file otherwise."""
    if not secret_path and not broker_path:
        return None
    if not secret_path or not broker_path:
        raise MaasError("curve: give both curve_key (our NAME_secret file) and "
                        "broker_key (the broker's public key file)")
    if not secret_path.endswith("_secret") and os.path.exists(secret_path + "_secret"):
        secret_path += "_secret"
    ours = _read(secret_path)
    broker = _read(broker_path)
    return (_key(secret_path, ours, "public-key", "a key file"),
            _key(secret_path, ours, "secret-key", "a secret key file"),
            _key(broker_path, broker, "public-key", "a public key file"))
