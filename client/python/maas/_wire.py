"""The MAAS1 wire format (docs/protocol.md): frames, command bytes, job
headers and job ids. Everything that decides how a field travels lives here,
so a protocol change is a change in one place."""
from __future__ import annotations

import os
import re
import threading
import time
from typing import Any, Dict, List, Optional

import msgpack

TAG = b"MAAS1"
HEADER_MAX = 65536

SUBMIT = b"\x01"
ACCEPTED = b"\x02"
REJECTED = b"\x03"
RESULT = b"\x04"
CANCEL = b"\x05"
PING = b"\x06"
PONG = b"\x07"
FETCH = b"\x08"
PROGRESS = b"\x09"

_ID_RE = re.compile(r"^[0-9A-Za-z_.:-]{1,64}$")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def pack(value: Any) -> bytes:
    """msgpack bytes of VALUE (str as str, bytes as bin)."""
    return msgpack.packb(value, use_bin_type=True)


def unpack(data: bytes) -> Any:
    """VALUE from msgpack bytes; raises ValueError when they are not msgpack."""
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ValueError(f"not msgpack: {exc}") from None


def valid_id(text: str, longest: int = 64) -> bool:
    """True if TEXT is 1..LONGEST of [0-9A-Za-z_.:-] (job ids, kinds)."""
    return isinstance(text, str) and len(text) <= longest and bool(_ID_RE.match(text))


def version_fields(version: Optional[int], alias: Optional[str]) -> Dict[str, Any]:
    """How a model version or alias travels in a job header: the only place
    that knows ("version" an integer, "alias" a string, never both, as
    libmaas packs them; docs/protocol.md)."""
    if alias:
        return {"alias": alias}
    if version:
        return {"version": int(version)}
    return {}


def job_header(job_id: str, kind: str, *, model: Optional[str] = None,
               version: Optional[int] = None, alias: Optional[str] = None,
               priority: int = 0, deadline_ms: int = 0, track: bool = True,
               durable: bool = True, params: Any = None) -> bytes:
    """The SUBMIT header of a job, packed; ValueError when a field is out of range."""
    if not valid_id(kind, 32):
        raise ValueError(f"submit: kind {kind!r} must be 1..32 of [0-9A-Za-z_.:-]")
    if not valid_id(job_id):
        raise ValueError(f"submit: id {job_id!r} must be 1..64 of [0-9A-Za-z_.:-]")
    if not isinstance(priority, int) or not 0 <= priority <= 9:
        raise ValueError(f"submit: priority must be 0..9, got {priority!r}")
    if model is not None and len(model.encode()) > 128:
        raise ValueError(f"submit: model {model!r} is longer than 128 bytes")
    if alias is not None and len(alias.encode()) > 32:
        raise ValueError(f"submit: alias {alias!r} is longer than 32 bytes")
    if version is not None and (not isinstance(version, int) or version < 0):
        raise ValueError(f"submit: version must be a positive integer, got {version!r}")
    header: Dict[str, Any] = {"id": job_id, "kind": kind}
    if model:
        header["model"] = model
    header.update(version_fields(version, alias))
    if priority:
        header["priority"] = priority
    if deadline_ms:
        header["deadline"] = int(deadline_ms)
    header["track"] = bool(track)
    header["durable"] = bool(durable)
    if params is not None:
        header["params"] = params
    packed = pack(header)
    if len(packed) > HEADER_MAX:
        raise ValueError(f"submit: header is {len(packed)} bytes, more than {HEADER_MAX}")
    return packed


def id_header(job_id: str) -> bytes:
    """The header of CANCEL and FETCH."""
    return pack({"id": job_id})


def frames(command: bytes, header: bytes, payload: Optional[bytes] = None) -> List[bytes]:
    """A message as the frames a DEALER sends."""
    return [TAG, command, header] if payload is None else [TAG, command, header, payload]


class IdGen:
    """ULIDs as libmaas makes them: 48-bit wall ms and 80 random bits in
    Crockford base32, monotonic within a millisecond, so ids sort by time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ms = 0
        self._random = 0

    def new(self) -> str:
        """A fresh 26-character id."""
        with self._lock:
            ms = int(time.time() * 1000)
            if ms <= self._ms:
                ms = self._ms
                self._random = (self._random + 1) & ((1 << 80) - 1)
            else:
                self._ms = ms
                self._random = int.from_bytes(os.urandom(10), "big")
            value = (ms << 80) | self._random
        return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


def id_ms(job_id: str) -> int:
    """Wall-clock ms encoded in a ULID job id, or 0 if it is not one."""
    if len(job_id) != 26:
        return 0
    ms = 0
    for char in job_id[:10]:
        digit = _CROCKFORD.find(char)
        if digit < 0:
            return 0
        ms = ms * 32 + digit
    return ms
