"""Data sets in Redis in the chunked format of shared/redis/dataset_store.c
(docs/redis.md, "Data sets"): a set stored from Python trains in
maas-trainer, and one stored by ``maas dataset put`` loads here."""
from __future__ import annotations

import csv
import hashlib
import os
import re
import struct
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import redis as redis_lib

from ._stack import redis_errors
from .errors import MaasError, NotFound

CHUNK_BYTES = 64 << 20          # largest chunk, as `maas dataset put` writes
_PENDING_TTL_MS = 3600000       # chunks not switched in expire after this
_GRACE_S = 60                   # a replaced generation's chunks live this long
_NAME_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")
_TASKS = ("binary", "multiclass", "regression")
MAX_CLASSES = 65536


def content_sha256(x: np.ndarray, y: np.ndarray) -> str:
    """The data set digest: rows and cols as little-endian uint64, then the
    feature bytes, then the label bytes (float32 LE)."""
    digest = hashlib.sha256(struct.pack("<QQ", x.shape[0], x.shape[1]))
    digest.update(x.tobytes())
    digest.update(y.tobytes())
    return digest.hexdigest()


def label_task(y: np.ndarray, task: str) -> Tuple[str, int]:
    """(task, classes) for labels Y under TASK (``auto`` picks binary,
    then multiclass, then regression); ValueError naming a misfit row."""
    whole = (y >= 0) & (y < MAX_CLASSES) & (y == np.floor(y))
    if task == "auto":
        task = ("binary" if np.isin(y, (0.0, 1.0)).all()
                else "multiclass" if whole.all() else "regression")
    if task not in _TASKS:
        raise ValueError(f"task must be auto, {', '.join(_TASKS)}; got {task!r}")
    bad = {"binary": ~np.isin(y, (0.0, 1.0)), "multiclass": ~whole}.get(task)
    if bad is not None and bad.any():
        row = int(np.argmax(bad))
        kind = ("binary labels are 0 or 1" if task == "binary"
                else f"multiclass labels are class indices 0..{MAX_CLASSES - 1}")
        raise ValueError(f"label at row {row + 1} is {y[row]:g}: {kind}")
    classes = {"binary": 2, "multiclass": int(y.max()) + 1 if len(y) else 0}.get(task, 0)
    return task, classes


def _as_arrays(x: Any, y: Any) -> Tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x)
    y = np.asarray(y)
    if x.dtype.kind not in "fiu" or y.dtype.kind not in "fiub":
        raise TypeError(f"features and labels must be numbers, got {x.dtype} and {y.dtype}")
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"features must be a non-empty rows × cols array, got {x.shape}")
    y = y.reshape(-1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"{x.shape[0]} rows of features but {y.shape[0]} labels")
    x = np.ascontiguousarray(x, dtype="<f4")
    y = np.ascontiguousarray(y, dtype="<f4")
    for what, values in (("feature", x), ("label", y)):
        bad = ~np.isfinite(values)
        if bad.any():
            where = np.argwhere(bad)[0]
            at = f"{where[1] + 1} at row {where[0] + 1}" if values.ndim == 2 else \
                 f"at row {where[0] + 1}"
            raise ValueError(f"{what} {at} is not a finite number")
    return x, y


class Datasets:
    """``client.datasets``: store and load data sets."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def _manifest_key(self, name: str) -> str:
        return f"{self.client.prefix}dataset:{{{name}}}"

    def _chunk_key(self, name: str, gen: str, part: str, index: int) -> str:
        return f"{self.client.prefix}dataset:{{{name}}}:{gen}:{part}:{index}"

    @redis_errors
    def put(self, name: str, x: Any, y: Any, *, task: str = "auto", label: str = "label",
            columns: Optional[Sequence[str]] = None,
            chunk_bytes: int = CHUNK_BYTES) -> Dict[str, Any]:
        """Store features X (rows × cols) and labels Y (rows) as data set
        NAME, replacing it atomically. Returns the manifest written."""
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ValueError(f"data set name {name!r} is not valid: use 1-128 letters, "
                             "digits, '.', '_' or '-'")
        x, y = _as_arrays(x, y)
        task, classes = label_task(y, task)
        columns = list(columns) if columns is not None else [f"x{c}" for c in range(x.shape[1])]
        if len(columns) != x.shape[1] or any("\n" in c or len(c) > 128 for c in columns):
            raise ValueError(f"columns: give {x.shape[1]} names of at most 128 characters "
                             "without line breaks")
        twice = next((c for i, c in enumerate(columns + [label]) if c in columns[:i]), None)
        if twice is not None:
            # as `maas dataset put`: a model trained on it could not match its inputs by name
            raise ValueError(f"columns: '{twice}' is named twice: rename one, columns are "
                             "matched by name")
        chunk_bytes = max(4, int(chunk_bytes))
        gen = os.urandom(8).hex()
        x_chunks = self._write_part(name, gen, "x", x.tobytes(), chunk_bytes)
        y_chunks = self._write_part(name, gen, "y", y.tobytes(), chunk_bytes)
        manifest = {"format": "1", "rows": str(x.shape[0]), "cols": str(x.shape[1]),
                    "task": task, "classes": str(classes), "label": label,
                    "columns": "\n".join(columns), "sha256": content_sha256(x, y), "gen": gen,
                    "chunk_bytes": str(chunk_bytes), "x_chunks": str(x_chunks),
                    "y_chunks": str(y_chunks), "created_ms": str(int(time.time() * 1000))}
        self._switch(name, gen, x_chunks, y_chunks, manifest)
        return manifest

    def put_csv(self, path: str, *, label: str = "label", name: Optional[str] = None,
                task: str = "auto") -> Dict[str, Any]:
        """Store a CSV with a header line (column LABEL holds the labels) as
        data set NAME (default: the file's base name without extension)."""
        with open(path, newline="", encoding="utf-8") as file:
            header = next(csv.reader(file), None)
        if not header or label not in header:
            raise ValueError(f"{path}: no column '{label}' in the header line")
        values = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
        if values.shape[1] != len(header):
            raise ValueError(f"{path}: rows have {values.shape[1]} values, the header "
                             f"{len(header)}")
        at = header.index(label)
        x = np.delete(values, at, axis=1)
        columns = [c for i, c in enumerate(header) if i != at]
        name = name or os.path.splitext(os.path.basename(path))[0]
        return self.put(name, x, values[:, at], task=task, label=label, columns=columns)

    def _write_part(self, name: str, gen: str, part: str, data: bytes, chunk_bytes: int) -> int:
        chunks = (len(data) + chunk_bytes - 1) // chunk_bytes
        pipe = self.client.redis.pipeline(transaction=False)
        for i in range(chunks):
            pipe.set(self._chunk_key(name, gen, part, i),
                     data[i * chunk_bytes:(i + 1) * chunk_bytes], px=_PENDING_TTL_MS)
            if (i + 1) % 64 == 0:
                pipe.execute()
        pipe.execute()
        return chunks

    def _switch(self, name: str, gen: str, x_chunks: int, y_chunks: int,
                manifest: Dict[str, str]) -> None:
        key = self._manifest_key(name)
        for _ in range(5):
            with self.client.redis.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key)
                    old_gen, old_x, old_y = pipe.hmget(key, ["gen", "x_chunks", "y_chunks"])
                    pipe.multi()
                    for part, count in (("x", x_chunks), ("y", y_chunks)):
                        for i in range(count):
                            pipe.persist(self._chunk_key(name, gen, part, i))
                    pipe.delete(key)
                    pipe.hset(key, mapping=manifest)
                    pipe.sadd(self.client.prefix + "datasets", name)
                    if old_gen:
                        old = old_gen.decode()
                        for part, count in (("x", old_x), ("y", old_y)):
                            for i in range(int(count or 0)):
                                pipe.expire(self._chunk_key(name, old, part, i), _GRACE_S)
                    pipe.execute()
                    return
                except redis_lib.WatchError:
                    continue
        raise MaasError(f"data set '{name}': other writers kept replacing it; try again")

    @redis_errors
    def info(self, name: str) -> Dict[str, Any]:
        """The manifest of NAME (``rows``, ``cols``, ``task``, ``sha256``...)."""
        raw = self.client.redis.hgetall(self._manifest_key(name))
        if not raw:
            raise NotFound(f"data set '{name}' not found")
        info: Dict[str, Any] = {k.decode(): v.decode("utf-8", "replace") for k, v in raw.items()}
        for field in ("rows", "cols", "classes", "chunk_bytes", "x_chunks", "y_chunks",
                      "created_ms"):
            info[field] = int(info.get(field) or 0)
        info["columns"] = info.get("columns", "").split("\n")
        return info

    @redis_errors
    def list(self) -> List[str]:
        """Names of every stored data set."""
        return sorted(n.decode() for n in self.client.redis.smembers(
            self.client.prefix + "datasets"))

    @redis_errors
    def get(self, name: str) -> Tuple[np.ndarray, np.ndarray]:
        """(features rows × cols float32, labels float32) of NAME, checked
        against its sha256; ``MaasError`` if it is corrupted."""
        for _ in range(5):
            info = self.info(name)
            x = self._read_part(name, info, "x", info["rows"] * info["cols"] * 4)
            y = self._read_part(name, info, "y", info["rows"] * 4)
            if x is None or y is None:
                continue                    # replaced meanwhile: read the new one
            features = np.frombuffer(x, dtype="<f4").reshape(info["rows"], info["cols"])
            labels = np.frombuffer(y, dtype="<f4")
            if content_sha256(features, labels) != info["sha256"]:
                raise MaasError(f"data set '{name}' is corrupted (sha256 does not match)")
            return features, labels
        raise MaasError(f"data set '{name}': kept changing while read; try again")

    def _read_part(self, name: str, info: Dict[str, Any], part: str,
                   size: int) -> Optional[bytes]:
        count = info[f"{part}_chunks"]
        keys = [self._chunk_key(name, info["gen"], part, i) for i in range(count)]
        chunks = self.client.redis.mget(keys) if keys else []
        if any(c is None for c in chunks):
            return None
        data = b"".join(chunks)
        if len(data) != size:
            raise MaasError(f"data set '{name}': part {part} holds {len(data)} bytes, "
                            f"expected {size}")
        return data
