"""Finding the stack as the ``maas`` command line does (client/stack.c):
``$MAAS_STATE_DIR`` or ``/tmp/maas-<uid>``, its ``env`` file, and the
environment winning over the file. Also the Redis connection."""
from __future__ import annotations

import functools
import os
from typing import Any, Callable, Dict, Optional, TypeVar

import redis as redis_lib

from .errors import RedisError

T = TypeVar("T")


def state_dir(given: Optional[str] = None) -> str:
    """The stack's state directory."""
    return given or os.environ.get("MAAS_STATE_DIR") or f"/tmp/maas-{os.getuid()}"


def load_env(given: Optional[str] = None) -> Dict[str, str]:
    """The stack's env file (NAME=value lines) with the environment on top."""
    values: Dict[str, str] = {}
    try:
        with open(os.path.join(state_dir(given), "env"), encoding="utf-8") as env:
            for line in env:
                name, equals, value = line.rstrip("\n").partition("=")
                if equals:
                    values[name] = value
    except OSError:
        pass
    for name in ("MAAS_BROKER_FRONTEND", "MAAS_REDIS_URL", "MAAS_CURVE_KEY", "MAAS_BROKER_KEY"):
        if os.environ.get(name):
            values[name] = os.environ[name]
    return values


def redis_url() -> str:
    """``$MAAS_REDIS_URL``, else the stack's, else redis://127.0.0.1:6379."""
    return load_env().get("MAAS_REDIS_URL") or "redis://127.0.0.1:6379"


def connect_redis(url: str) -> Any:
    """A redis-py connection to URL (``redis://``, ``unix://``); commands
    time out after 10 s so a hung server cannot hang the caller."""
    try:
        options = {} if url.startswith("unix:") else {"socket_connect_timeout": 5}
        return redis_lib.Redis.from_url(url, socket_timeout=10, **options)
    except ValueError as exc:
        raise RedisError(f"redis URL {url!r}: {exc}") from None


def redis_errors(method: Callable[..., T]) -> Callable[..., T]:
    """Turn redis-py's errors in METHOD (of an object with ``client``) into
    ``RedisError`` naming the URL."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except redis_lib.exceptions.ResponseError:
            raise
        except redis_lib.exceptions.RedisError as exc:
            raise RedisError(f"redis {self.client.redis_url}: {exc}") from None
    return wrapper
