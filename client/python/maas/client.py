"""``maas.Client``: submit jobs to maas brokers and read status, models and
data sets from the stack's Redis (docs/python.md is the tour)."""
from __future__ import annotations

import datetime
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _curve, _stack, _wire
from ._io import Engine, Pending
from .datasets import Datasets
from .errors import MaasError, Timeout
from .job import Job, Progress, Result
from .registry import Models, parse_ref
from .status import JobStatus, read_job, read_jobs

Deadline = Union[None, float, int, datetime.datetime]


def rows_payload(x: Any) -> Any:
    """X (an array of numbers, one row or rows × cols) as (float32 LE bytes,
    rows, cols). TypeError for a dtype that is not numbers, ValueError for
    a shape that is not one or two dimensions or has no rows."""
    array = np.asarray(x)
    if array.dtype.kind not in "fiu":
        raise TypeError(f"rows must be numbers (float32, float64 or integers), "
                        f"got dtype {array.dtype}")
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"rows must be a non-empty rows × features array, got shape "
                         f"{np.shape(x)}")
    data = np.ascontiguousarray(array, dtype="<f4")
    return data.tobytes(), data.shape[0], data.shape[1]


def deadline_ms(deadline: Deadline) -> int:
    """A deadline (Unix seconds, or a datetime) as wall-clock ms; 0: none."""
    if deadline is None:
        return 0
    if isinstance(deadline, datetime.datetime):
        deadline = deadline.timestamp()
    return max(1, int(float(deadline) * 1000))


class Client:
    """A connection to one or more brokers (``"ipc://..."`` or
    ``"tcp://h1:5555,tcp://h2:5555"``; jobs go round-robin) and to the
    stack's Redis (``redis=`` URL, else ``$MAAS_REDIS_URL``, else the
    ``maas up`` stack's env file). Use it from any thread; close it (or use
    ``with``) when done.

    ``window`` bounds the jobs in flight (``submit`` blocks when full);
    ``retry`` is the silence, in seconds, after which an unanswered SUBMIT
    is resent and an accepted job FETCHed (how results survive a broker
    restart); ``timeout`` is the default wait of ``infer``/``train``.
    ``curve_key`` (our ``NAME_secret`` file from ``maas keygen``) and
    ``broker_key`` (the broker's public key file) turn CurveZMQ on, for a
    broker started with ``--curve-secret`` (docs/security.md)."""

    def __init__(self, endpoints: str, *, redis: Optional[str] = None,
                 prefix: str = "maas:", window: int = 10000, retry: float = 2.0,
                 timeout: float = 30.0, curve_key: Optional[str] = None,
                 broker_key: Optional[str] = None) -> None:
        self.endpoints = [e.strip() for e in endpoints.split(",") if e.strip()]
        if not self.endpoints:
            raise MaasError(f"no broker endpoint in {endpoints!r}")
        curve = _curve.load(curve_key, broker_key)
        self.redis_url = redis or _stack.redis_url()
        self.prefix = prefix
        self.timeout = timeout
        self._ids = _wire.IdGen()
        self._closed = False
        self._engine = Engine(self.endpoints, "c-" + self._ids.new(), retry, window, curve)
        self._redis = None
        self.models = Models(self)
        self.datasets = Datasets(self)
        self.last_score: Optional[Any] = None

    @classmethod
    def from_env(cls, state_dir: Optional[str] = None, **options: Any) -> "Client":
        """The stack ``maas up`` started: ``$MAAS_BROKER_FRONTEND`` and
        ``$MAAS_REDIS_URL`` when set, else the ``env`` file in STATE_DIR
        (default ``$MAAS_STATE_DIR``, else ``/tmp/maas-<uid>``), as the CLI does;
        with its ``MAAS_CURVE_KEY`` and ``MAAS_BROKER_KEY`` (``maas up --secure``)."""
        env = _stack.load_env(state_dir)
        broker = env.get("MAAS_BROKER_FRONTEND")
        if not broker:
            raise MaasError(f"no broker: set MAAS_BROKER_FRONTEND or run maas up "
                            f"(no env file in {_stack.state_dir(state_dir)})")
        options.setdefault("redis", env.get("MAAS_REDIS_URL"))
        options.setdefault("curve_key", env.get("MAAS_CURVE_KEY"))
        options.setdefault("broker_key", env.get("MAAS_BROKER_KEY"))
        return cls(broker, **options)

    def close(self) -> None:
        """Stop the I/O thread; jobs still awaited fail with ``MaasError``."""
        if not self._closed:
            self._closed = True
            self._engine.close()
            if self._redis is not None:
                self._redis.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- jobs

    def submit(self, kind: str, *, model: Optional[str] = None,
               version: Optional[int] = None, alias: Optional[str] = None,
               data: Any = None, params: Any = None, priority: int = 0,
               deadline: Deadline = None, id: Optional[str] = None,
               tracked: bool = True, durable: bool = True,
               on_progress: Optional[Callable[[Progress], None]] = None) -> Job:
        """Send a job and return its ``Job`` (a future) at once; blocks only
        while the window is full (``Timeout`` after the client's timeout). MODEL may be ``"name@3"`` or
        ``"name@alias"``. DATA is an array of rows (sent as float32 with
        ``params.shape``, what infer workers read) or bytes (sent as is).
        DEADLINE: Unix seconds or a datetime after which it must not start.
        Resubmitting an ID that already ran returns its stored result: the
        job does not run again. ValueError/TypeError for bad arguments."""
        if self._closed:
            raise MaasError("submit: the client is closed")
        if model and "@" in model and version is None and alias is None:
            model, version, alias = parse_ref(model)
        payload, params = self._payload(data, params)
        job_id = id or self._ids.new()
        header = _wire.job_header(job_id, kind, model=model, version=version, alias=alias,
                                  priority=priority, deadline_ms=deadline_ms(deadline),
                                  track=tracked, durable=durable, params=params)
        job = Job(self, job_id, kind, on_progress)
        engine = self._engine
        slot = not engine.on_io_thread()    # a callback must not wait for itself
        if slot and not engine.window.acquire(timeout=self.timeout):
            raise Timeout(f"submit: the window of jobs in flight stayed full for "
                          f"{self.timeout} s (is maas-broker running at "
                          f"{', '.join(self.endpoints)}?)")
        engine.post("submit", Pending(job, header, payload, True, not tracked, slot))
        return job

    @staticmethod
    def _payload(data: Any, params: Any) -> Any:
        if data is None:
            return b"", params
        if isinstance(data, (bytes, bytearray, memoryview)):
            return bytes(data), params
        payload, rows, cols = rows_payload(data)
        if params is not None and not isinstance(params, dict):
            raise TypeError("params must be a dict when data is an array")
        return payload, {**(params or {}), "shape": [rows, cols]}

    def fetch(self, job_id: str) -> Job:
        """Await a job this client did not submit (or submitted in an
        earlier run): its stored result, or its outcome when it finishes."""
        if not _wire.valid_id(job_id):
            raise ValueError(f"fetch: bad job id {job_id!r}")
        job = Job(self, job_id, "?")
        self._engine.post("fetch", Pending(job, None, None, False, False, False))
        return job

    def ping(self, timeout: float = 5.0) -> float:
        """Round trip to a broker in seconds; ``Timeout`` if no PONG came."""
        import threading
        import time
        pong = threading.Event()
        started = time.monotonic()
        self._engine.post("ping", pong.set)
        if not pong.wait(timeout):
            raise Timeout(f"no PONG from {', '.join(self.endpoints)} within {timeout} s "
                          "(is maas-broker running?)")
        return time.monotonic() - started

    def infer(self, model: str, x: Any, *, output: str = "proba", top_k: Optional[int] = None,
              timeout: Optional[float] = None, **submit: Any) -> Any:
        """Run rows X on MODEL (``"name"``, ``"name@3"``, ``"name@alias"``)
        as one infer job; rows × outputs float32 probabilities (or values)
        with ``output="proba"`` (or ``"probabilities"``); with
        ``output="class"`` the predicted class per row (int64, a binary
        model's from its version's threshold); with ``output="label"`` the
        class labels the model stores (its class numbers as text without
        them). ``top_k=K`` returns, per row, the K most probable classes
        as ``[(label, probability), ...]``, best first."""
        if output not in ("proba", "probabilities", "class", "label"):
            raise ValueError(f"output must be 'proba', 'class' or 'label', got {output!r}")
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
        params = dict(submit.pop("params", None) or {})
        if output in ("class", "label"):
            params["output"] = "class"
        if top_k:
            params["top_k"] = top_k
        result = self.submit("infer", model=model, data=x, params=params or None,
                             **submit).result(self.timeout if timeout is None else timeout)
        if top_k:
            return result.top_k()
        if output == "label":
            return result.labels()
        return result.classes() if output == "class" else result.values()

    def score(self, model: str, x: Any, output: Optional[str] = None, **options: Any) -> Any:
        """Fan-out scoring of an array or a .npy file over every worker;
        see ``maas.score.score`` for the options."""
        from .score import score
        return score(self, model, x, output, **options)

    def train(self, dataset: str, **options: Any) -> Any:
        """Train on a stored data set and publish a model version; see
        ``maas.train.train`` for the options."""
        from .train import train
        return train(self, dataset, **options)

    # -- status, from Redis

    @property
    def redis(self) -> Any:
        """The ``redis.Redis`` connection to the stack's Redis (read-mostly)."""
        if self._redis is None:
            self._redis = _stack.connect_redis(self.redis_url)
        return self._redis

    def job(self, job_id: str) -> JobStatus:
        """One job's record: status, timings, worker, batch size, progress."""
        return read_job(self, job_id)

    def jobs(self, status: Optional[str] = None, kind: Optional[str] = None,
             limit: int = 20) -> List[JobStatus]:
        """Recent jobs, newest first (from the events stream), optionally
        only those with STATUS and/or KIND."""
        return read_jobs(self, status, kind, limit)
