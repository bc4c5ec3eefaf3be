"""A job in flight (``Job``, a ``concurrent.futures.Future`` you can also
``await``) and what it ends with (``Result``, ``Progress``)."""
from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from . import _wire
from .errors import JobFailed, MaasError, Timeout


@dataclass
class Progress:
    """One PROGRESS report: ``fraction`` 0..1 and the worker's ``message``
    (train jobs: ``epoch=3/10 train_loss=...``), split into ``fields``."""

    job_id: str
    fraction: float
    message: str
    fields: Dict[str, str] = field(default_factory=dict)

    @staticmethod
    def parse(job_id: str, fraction: Any, message: str) -> "Progress":
        fields = dict(part.split("=", 1) for part in message.split() if "=" in part)
        return Progress(job_id, float(fraction or 0.0), message, fields)


@dataclass
class Result:
    """A succeeded job: the RESULT ``header`` (a dict) and payload ``data``."""

    id: str
    status: str
    data: bytes
    header: Dict[str, Any]
    _output: Any = field(default=None, repr=False)

    @property
    def meta(self) -> Dict[str, Any]:
        """The worker's ``meta`` map (timings, batch size, metrics), or {}."""
        meta = self.header.get("meta")
        return meta if isinstance(meta, dict) else {}

    @property
    def version(self) -> Optional[int]:
        """The model version that ran: the RESULT header's ``version``, else meta's."""
        return self.header.get("version", self.meta.get("version"))

    @property
    def retryable(self) -> Optional[bool]:
        """The RESULT header's ``retryable``, None when it has none."""
        return self.header.get("retryable")

    def output(self) -> Any:
        """The payload decoded as msgpack (infer and train results are maps)."""
        if self._output is None:
            self._output = _wire.unpack(self.data)
        return self._output

    def values(self) -> np.ndarray:
        """An infer result's rows × outputs float32 values (probabilities)."""
        out = self._infer_output()
        return np.frombuffer(out["values"], dtype="<f4").reshape(out["rows"], out["outputs"])

    def classes(self) -> np.ndarray:
        """An infer result's predicted class per row (int64)."""
        out = self._infer_output()
        if "classes" not in out:
            raise MaasError(f"job {self.id}: model {out.get('model')}@{out.get('version')} "
                            "gives values, not classes (a regression model)")
        return np.asarray(out["classes"], dtype=np.int64)

    def labels(self) -> np.ndarray:
        """Each row's class label (str), from a job that asked for
        ``params={"output": "class"}``."""
        out = self._infer_output()
        if "class_labels" not in out:
            raise MaasError(f"job {self.id}: no labels in the result (ask for "
                            "params={'output': 'class'} from a classifier)")
        names = out["class_labels"]
        return np.array([names[c] for c in out["classes"]], dtype=object)

    def top_k(self) -> list:
        """Per row, the K most probable classes as ``[(label, p), ...]``,
        from a job that asked for ``params={"top_k": K}``."""
        out = self._infer_output()
        if "top_k" not in out:
            raise MaasError(f"job {self.id}: no top_k in the result")
        k = out["top_k"]
        scores = np.frombuffer(out["top_scores"], dtype="<f4")
        names = out.get("class_labels") or [str(c) for c in range(max(out["top_classes"]) + 1)]
        classes = out["top_classes"]
        return [[(names[classes[r * k + i]], float(scores[r * k + i])) for i in range(k)]
                for r in range(out["rows"])]

    def _infer_output(self) -> Dict[str, Any]:
        out = self.output()
        if not isinstance(out, dict) or not {"values", "rows", "outputs"} <= out.keys():
            raise MaasError(f"job {self.id}: not an infer result")
        if len(out["values"]) != out["rows"] * out["outputs"] * 4:
            raise MaasError(f"job {self.id}: result sizes do not match")
        return out


class Job(concurrent.futures.Future):
    """A submitted job. ``result(timeout)`` gives its ``Result`` or raises
    ``JobFailed`` / ``Rejected`` / ``Overloaded`` / ``Timeout``;
    ``cancel()`` asks the broker to cancel it (``cancelled()`` tells once
    the broker confirmed); ``await job`` works under asyncio. Callbacks
    (``add_done_callback``) run on the client's I/O thread: keep them short."""

    def __init__(self, client: Any, job_id: str, kind: str,
                 on_progress: Optional[Callable[[Progress], None]] = None) -> None:
        super().__init__()
        self.id = job_id
        self.kind = kind
        self.accepted = False
        self.progress: Optional[Progress] = None
        self._client = client
        self._on_progress = on_progress

    def __repr__(self) -> str:
        return f"<maas.Job {self.id} {self.kind} {self._state.lower()}>"

    def cancel(self) -> bool:
        """Ask the broker to cancel the job. False if it already finished;
        True if the request went out: the outcome follows (``cancelled()``
        turns True when the broker answers ``cancelled``)."""
        if self.done():
            return False
        self._client._engine.post("cancel", self.id)
        return True

    def result(self, timeout: Optional[float] = None) -> Result:
        """Wait up to TIMEOUT seconds (None: forever) for the outcome."""
        try:
            return super().result(timeout)
        except concurrent.futures.TimeoutError as exc:
            if isinstance(exc, MaasError):
                raise
            raise self._timeout(timeout) from None

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        try:
            return super().exception(timeout)
        except concurrent.futures.TimeoutError:
            raise self._timeout(timeout) from None

    def __await__(self):
        return asyncio.wrap_future(self).__await__()

    def _timeout(self, timeout: Optional[float]) -> Timeout:
        where = ", ".join(self._client.endpoints)
        if self.accepted:
            return Timeout(f"job {self.id}: accepted, but no result within {timeout} s")
        return Timeout(f"job {self.id}: no broker answered within {timeout} s "
                       f"(is maas-broker running at {where}?)")

    # -- from the I/O thread

    def _accepted(self) -> None:
        self.accepted = True

    def _progress(self, fraction: Any, message: Any) -> None:
        try:
            self.progress = Progress.parse(self.id, fraction, str(message))
        except (TypeError, ValueError):
            return                          # a malformed report: the result still counts
        if self._on_progress:
            try:
                self._on_progress(self.progress)
            except Exception:  # a user callback must not stop the I/O thread
                import logging
                logging.getLogger("maas").exception("maas: on_progress raised")

    def _settle(self, outcome: Any) -> None:
        if self.done():
            return
        if isinstance(outcome, BaseException):
            self.set_exception(outcome)
            return
        header, payload = outcome
        status = str(header.get("status") or "failed")
        if status == "succeeded":
            self.set_result(Result(self.id, status, bytes(payload), header))
        elif status == "cancelled":
            super().cancel()
            self.set_running_or_notify_cancel()
        else:
            self.set_exception(JobFailed(self.id, status, str(header.get("error") or ""),
                                         header.get("retryable"), header))


def wait_all(jobs: List[Job], timeout: Optional[float] = None) -> None:
    """Wait until every job of JOBS is done, or raise ``Timeout``."""
    done, not_done = concurrent.futures.wait(jobs, timeout)
    if not_done:
        raise Timeout(f"{len(not_done)} of {len(jobs)} jobs not done within {timeout} s")
