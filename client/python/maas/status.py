"""Job records in Redis (``maas:job:<id>``, ``maas:events``), read only:
the broker owns them (docs/redis.md, "Job status")."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from . import _wire
from ._stack import redis_errors
from .errors import NotFound


@dataclass
class JobStatus:
    """One job as its record shows it. Times are wall-clock seconds since
    the epoch (None until they happen); ``queued_s`` and ``ran_s`` are the
    waits derived from them; ``batch_rows``/``batch_jobs`` the infer batch
    it ran in; ``output`` the decoded result payload of a finished job."""

    id: str
    status: str
    kind: str = ""
    model: str = ""
    worker: str = ""
    attempts: int = 0
    progress: Optional[float] = None
    progress_message: str = ""
    error: str = ""
    submitted: Optional[float] = None
    started: Optional[float] = None
    finished: Optional[float] = None
    batch_rows: Optional[int] = None
    batch_jobs: Optional[int] = None
    output: Any = None
    header: Dict[str, Any] = field(default_factory=dict)

    @property
    def queued_s(self) -> Optional[float]:
        if self.submitted is None or self.started is None:
            return None
        return self.started - self.submitted

    @property
    def ran_s(self) -> Optional[float]:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started


def _text(value: Optional[bytes]) -> str:
    return value.decode("utf-8", "replace") if value else ""


def _seconds(value: Optional[bytes]) -> Optional[float]:
    return int(value) / 1000 if value and int(value) else None


def _status(job_id: str, fields: Dict[str, Optional[bytes]]) -> JobStatus:
    header: Dict[str, Any] = {}
    if fields.get("header"):
        try:
            header = _wire.unpack(fields["header"])
        except ValueError:
            header = {}
    output = None
    if fields.get("result"):
        try:
            output = _wire.unpack(fields["result"])
        except ValueError:
            output = None
    batch = output if isinstance(output, dict) else {}
    ms = _wire.id_ms(job_id)
    return JobStatus(
        id=job_id, status=_text(fields.get("status")), kind=str(header.get("kind", "")),
        model=str(header.get("model", "")), worker=_text(fields.get("worker")),
        attempts=int(fields.get("attempts") or 0),
        progress=float(fields["progress"]) if fields.get("progress") else None,
        progress_message=_text(fields.get("progress_message")),
        error=_text(fields.get("error")), submitted=ms / 1000 if ms else None,
        started=_seconds(fields.get("started_ms")), finished=_seconds(fields.get("finished_ms")),
        batch_rows=batch.get("batch_rows"), batch_jobs=batch.get("batch_jobs"),
        output=output, header=header)


class _Reader:
    def __init__(self, client: Any) -> None:
        self.client = client

    @redis_errors
    def job(self, job_id: str) -> JobStatus:
        raw = self.client.redis.hgetall(f"{self.client.prefix}job:{job_id}")
        if not raw:
            raise NotFound(f"job {job_id} not found (never submitted, untracked, or "
                           "finished and expired)")
        return _status(job_id, {k.decode(): v for k, v in raw.items()})

    @redis_errors
    def jobs(self, status: Optional[str], kind: Optional[str], limit: int) -> List[JobStatus]:
        redis, prefix = self.client.redis, self.client.prefix
        events = redis.xrevrange(prefix + "events", "+", "-", count=limit * 20 + 100)
        ids: Dict[str, None] = {}           # newest first, each once
        for _, pairs in events:
            for job_id in pairs:
                ids.setdefault(job_id.decode("utf-8", "replace"))
        order = list(ids)
        found: List[JobStatus] = []
        for start in range(0, len(order), 256):
            batch = order[start:start + 256]
            pipe = redis.pipeline(transaction=False)
            for job_id in batch:
                pipe.hmget(f"{prefix}job:{job_id}", _LIST_FIELDS)
            for job_id, values in zip(batch, pipe.execute()):
                if values[0] is None:
                    continue
                record = _status(job_id, dict(zip(_LIST_FIELDS, values)))
                if (status is None or record.status == status) and (
                        kind is None or record.kind == kind):
                    found.append(record)
                    if len(found) >= limit:
                        return found
        return found


_LIST_FIELDS = ["status", "header", "progress", "worker", "attempts", "started_ms",
                "finished_ms", "error"]


def read_job(client: Any, job_id: str) -> JobStatus:
    """The record of JOB_ID; ``NotFound`` if Redis has none."""
    return _Reader(client).job(job_id)


def read_jobs(client: Any, status: Optional[str], kind: Optional[str],
              limit: int) -> List[JobStatus]:
    """Recent jobs, newest first."""
    return _Reader(client).jobs(status, kind, limit)
