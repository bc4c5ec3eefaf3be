"""maas: a pure-Python client for maas, model-as-a-service.

It speaks the MAAS1 wire protocol to the brokers directly (ZeroMQ and
msgpack, docs/protocol.md) and reads job status, the model registry and
data sets from the stack's Redis (docs/redis.md). Start here::

    import maas
    client = maas.Client.from_env()          # the stack `maas up` started
    probabilities = client.infer("cancer@production", rows)

``Client.submit`` returns a ``Job`` (a ``concurrent.futures.Future`` that
can be awaited); errors are ``Rejected``, ``Overloaded``, ``JobFailed``,
``Timeout``, ``RedisError`` and ``NotFound``, all ``MaasError``.
docs/python.md is the tour.
"""
from .client import Client
from .errors import (JobFailed, MaasError, NotFound, Overloaded, RedisError, Rejected,
                     Timeout)
from .job import Job, Progress, Result, wait_all
from .registry import ModelInfo, ModelVersion
from .score import ScoreStats
from .status import JobStatus
from .train import Trained

__all__ = ["Client", "Job", "Result", "Progress", "JobStatus", "ModelInfo", "ModelVersion",
           "ScoreStats", "Trained", "MaasError", "Rejected", "Overloaded", "JobFailed",
           "Timeout", "RedisError", "NotFound", "wait_all"]
__version__ = "0.1.0"
