"""The exceptions of the maas client. Every failure carries the reason the
broker, the worker or Redis gave; nothing fails as a silent None."""
from __future__ import annotations

from typing import Any, Dict, Optional


class MaasError(Exception):
    """Base of every maas error; ``str(err)`` is a message a person can act on."""


class Rejected(MaasError):
    """The broker refused a submission (REJECTED): ``reason`` is its code
    (``bad_request``, ``overloaded``, ``unavailable``, ``unknown_job``,
    ``unknown_kind``...), ``error`` its explanation. The job will not run."""

    def __init__(self, job_id: str, reason: str, error: str) -> None:
        super().__init__(f"job {job_id} rejected ({reason or 'no reason'}): {error}")
        self.job_id = job_id
        self.reason = reason
        self.error = error


class Overloaded(Rejected):
    """The broker holds ``--max-jobs`` jobs: retry later, or use another broker."""


class JobFailed(MaasError):
    """A job ended other than ``succeeded``: ``status`` is ``failed``,
    ``expired`` or ``lost``, ``error`` the worker's or broker's reason,
    ``retryable`` what the RESULT said (None when it did not say)."""

    def __init__(self, job_id: str, status: str, error: str,
                 retryable: Optional[bool] = None,
                 header: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(f"job {job_id} {status}: {error or 'no reason given'}")
        self.job_id = job_id
        self.status = status
        self.error = error
        self.retryable = retryable
        self.header = header or {}


class Timeout(MaasError, TimeoutError):
    """No outcome within the time given (also a ``TimeoutError``)."""


class RedisError(MaasError):
    """Redis could not be reached or refused a command; names the URL."""


class NotFound(MaasError, KeyError):
    """A model, version, alias, data set or job that does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
