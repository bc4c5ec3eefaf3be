"""The model registry as docs/redis.md lays it out (``client.models``):
list, resolve ``name@version|alias|latest``, and move an alias the way
libmaas does (one script that checks, sets and announces)."""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ._stack import redis_errors
from .errors import MaasError, NotFound

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

#  KEYS: model hash, versions, aliases, history. ARGV: channel, name, alias,
#  version, who, now_ms, history cap. A move is recorded as libmaas does
#  (docs/redis.md, ":history").
_ALIAS_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('unknown model ' .. ARGV[2]) end
if not redis.call('ZSCORE', KEYS[2], ARGV[4]) then
  return redis.error_reply('model ' .. ARGV[2] .. ' has no version ' .. ARGV[4]) end
local from = redis.call('HGET', KEYS[3], ARGV[3]) or '0'
if from ~= ARGV[4] then
  redis.call('LPUSH', KEYS[4], table.concat({ARGV[6], ARGV[3], from, ARGV[4], ARGV[5]}, ' '))
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[7]) - 1)
end
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
return redis.call('PUBLISH', ARGV[1], 'alias ' .. ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[4])
"""
_HISTORY_MAX = 1000  # MAAS_REGISTRY_HISTORY_MAX


def _actor() -> str:
    """``user@host``, as libmaas records this client's alias moves."""
    import getpass
    import socket
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "uid%d" % os.getuid()
    return "".join(c if c >= " " else "_" for c in f"{user[:40]}@{socket.gethostname()[:63]}")


def parse_ref(ref: str) -> Tuple[str, Optional[int], Optional[str]]:
    """``"name"``, ``"name@3"``, ``"name@alias"``, ``"name@latest"``, and
    MLflow's ``"name/3"``, ``"models:/name/3"``, ``"models:/name@alias"``, as
    (name, version or None, alias or None); ValueError if malformed. The
    same rules as libmaas's maas_registry_ref_parse."""
    plain = ref[len("models:/"):] if ref.startswith("models:/") else ref
    if "/" in plain and "@" not in plain:
        name, _, after = plain.partition("/")
        if not (after.isdigit() and int(after) > 0):
            raise ValueError(f"model {ref!r}: after '/' comes a version number (1, 2...)")
    else:
        name, _, after = plain.partition("@")
    if not _NAME_RE.match(name):
        raise ValueError(f"model name {name!r} is not valid: 1-64 of [A-Za-z0-9._-], "
                         "starting with a letter or digit")
    if not after or after == "latest":
        return name, None, None
    if after.isdigit() and int(after) > 0:
        return name, int(after), None
    if _NAME_RE.match(after) and after[0].isalpha():
        return name, None, after
    raise ValueError(f"model {ref!r}: after '@' comes a version (1, 2...), an alias or latest")


@dataclass
class ModelVersion:
    """One stored version: what it takes and gives, its metrics and lineage."""

    name: str
    version: int
    inputs: int
    outputs: int
    metrics: Dict[str, Any]
    created_ms: int
    size: int
    sha256: str
    job_id: str
    description: str
    tags: List[str]
    aliases: List[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass
class ModelInfo:
    """A model: its latest version, every stored version, its aliases."""

    name: str
    latest: int
    versions: List[int]
    aliases: Dict[str, int]


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


class Models:
    """``client.models``: the registry in the stack's Redis."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def _key(self, name: str, suffix: str = "") -> str:
        return f"{self.client.prefix}model:{{{name}}}{suffix}"

    @redis_errors
    def list(self) -> List[ModelInfo]:
        """Every model ever published, by name."""
        names = sorted(_text(n) for n in self.client.redis.smembers(self.client.prefix + "models"))
        return [self.info(name) for name in names]

    @redis_errors
    def info(self, name: str) -> ModelInfo:
        """One model's versions and aliases; ``NotFound`` if it has none."""
        redis = self.client.redis
        latest = redis.hget(self._key(name), "latest")
        if latest is None:
            raise NotFound(f"unknown model {name}")
        versions = sorted(int(v) for v in redis.zrange(self._key(name, ":versions"), 0, -1))
        aliases = {_text(a): int(v) for a, v in redis.hgetall(self._key(name, ":aliases")).items()}
        return ModelInfo(name, int(latest), versions, aliases)

    @redis_errors
    def resolve(self, ref: str) -> Tuple[str, int]:
        """(name, version) that REF names now; ``NotFound`` with the reason."""
        name, version, alias = parse_ref(ref)
        redis = self.client.redis
        if alias:
            found = redis.hget(self._key(name, ":aliases"), alias)
            if found is None:
                if not redis.exists(self._key(name)):
                    raise NotFound(f"unknown model {name}")
                raise NotFound(f"model {name} has no alias '{alias}'")
            return name, int(found)
        if version:
            if redis.zscore(self._key(name, ":versions"), version) is None:
                if not redis.exists(self._key(name)):
                    raise NotFound(f"unknown model {name}")
                raise NotFound(f"model {name} has no version {version}")
            return name, version
        latest = redis.hget(self._key(name), "latest")
        if latest is None or int(latest) == 0:
            raise NotFound(f"unknown model {name}" if latest is None
                           else f"model {name} has no stored version")
        return name, int(latest)

    @redis_errors
    def get(self, ref: str) -> ModelVersion:
        """The version REF names (``"iris"``, ``"iris@3"``, ``"iris@production"``)."""
        name, version = self.resolve(ref)
        names = ["inputs", "outputs", "metrics", "created_ms", "size", "sha256", "job_id",
                 "description", "tags"]
        fields = dict(zip(names, self.client.redis.hmget(self._key(name, f":v{version}"), names)))
        try:
            metrics = json.loads(_text(fields["metrics"]) or "{}")
        except ValueError:
            metrics = {}
        aliases = sorted(a for a, v in self.info(name).aliases.items() if v == version)
        return ModelVersion(name, version, int(fields["inputs"] or 0),
                            int(fields["outputs"] or 0), metrics,
                            int(fields["created_ms"] or 0), int(fields["size"] or 0),
                            _text(fields["sha256"]), _text(fields["job_id"]),
                            _text(fields["description"]),
                            [t for t in _text(fields["tags"]).split(",") if t], aliases)

    @redis_errors
    def alias(self, name: str, alias: str, version: int) -> None:
        """Point ALIAS of model NAME at VERSION and announce it (workers pick
        it up for jobs they take afterwards). ``MaasError`` with the reason."""
        if not _NAME_RE.match(alias) or not alias[0].isalpha() or alias == "latest":
            raise ValueError(f"alias {alias!r}: an alias starts with a letter, is letters, "
                             "digits, '.', '_' or '-', at most 64, and is not 'latest'")
        import redis as redis_lib
        try:
            self.client.redis.eval(_ALIAS_LUA, 4, self._key(name), self._key(name, ":versions"),
                                   self._key(name, ":aliases"), self._key(name, ":history"),
                                   self.client.prefix + "registry", name, alias,
                                   str(int(version)), _actor(), str(int(time.time() * 1000)),
                                   str(_HISTORY_MAX))
        except redis_lib.exceptions.ResponseError as exc:
            raise MaasError(str(exc)) from None
