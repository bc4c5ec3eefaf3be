"""``Client.score``: fan-out scoring. A window of shards in flight over
every worker, results written in input order, memory bounded by the
window (file in, file out: the input is memory-mapped, the output written
as a .npy file), one model version for the whole run (an alias is
resolved once through the registry), and a progress bar."""
from __future__ import annotations

import collections
import sys
import time
from dataclasses import dataclass
from typing import Any, Deque, Optional, Tuple

import numpy as np

from .errors import JobFailed, MaasError
from .job import Job

SHARD_ROWS = 16384              # rows per infer job, as `maas score`
WINDOW = 8                      # shards in flight, as `maas score`
ATTEMPTS = 3                    # runs of a shard before the run fails


@dataclass
class ScoreStats:
    """How a run went (``client.last_score``)."""

    model: str
    version: int
    rows: int = 0
    outputs: int = 0
    shards: int = 0
    retries: int = 0
    seconds: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


class _Bar:
    """tqdm when installed, else a plain line every 2 s; nothing if off."""

    def __init__(self, mode: Any, total: int, title: str) -> None:
        self.total, self.done, self.printed, self.started = total, 0, 0.0, time.monotonic()
        self.tqdm = None
        self.plain = bool(mode)
        if mode is True:
            try:
                from tqdm import tqdm
                self.tqdm = tqdm(total=total, unit="rows", desc=title, file=sys.stderr)
                self.plain = False
            except ImportError:
                pass
        if self.plain:
            print(f"scoring {title}: {total} rows", file=sys.stderr)

    def update(self, rows: int) -> None:
        self.done += rows
        if self.tqdm is not None:
            self.tqdm.update(rows)
        now = time.monotonic()
        if self.plain and (now - self.printed >= 2 or self.done == self.total):
            self.printed = now
            rate = self.done / max(now - self.started, 1e-9)
            print(f"{self.done}/{self.total} rows {rate:.0f} rows/s", file=sys.stderr)

    def close(self) -> None:
        if self.tqdm is not None:
            self.tqdm.close()


def _source(x: Any) -> Tuple[np.ndarray, Optional[str]]:
    if isinstance(x, str):
        try:
            array = np.load(x, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise MaasError(f"{x}: not a readable .npy file ({exc})") from None
        path: Optional[str] = x
    else:
        array, path = np.asarray(x), None
    if array.dtype.kind not in "fiu":
        raise TypeError(f"rows must be numbers, got dtype {array.dtype}")
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"rows must be a non-empty rows × features array, got {array.shape}")
    return array, path


class _Run:
    def __init__(self, client: Any, x: np.ndarray, output: Optional[str], stats: ScoreStats,
                 shard_rows: int, window: int, attempts: int, timeout: float) -> None:
        self.client, self.x, self.output, self.stats = client, x, output, stats
        self.shard_rows, self.window, self.attempts, self.timeout = (shard_rows, window,
                                                                     attempts, timeout)
        self.out: Any = None
        self.flight: Deque[Tuple[int, Job, int]] = collections.deque()

    def submit(self, shard: int, attempt: int) -> None:
        rows = self.x[shard * self.shard_rows:(shard + 1) * self.shard_rows]
        job = self.client.submit("infer", model=self.stats.model, version=self.stats.version,
                                 data=rows, durable=False)
        self.flight.append((shard, job, attempt))

    def take(self) -> Tuple[int, np.ndarray]:
        shard, job, attempt = self.flight.popleft()
        try:
            return shard, job.result(self.timeout).values()
        except JobFailed as exc:
            if attempt >= self.attempts:
                first = shard * self.shard_rows
                last = min(first + self.shard_rows, self.x.shape[0]) - 1
                raise JobFailed(job.id, exc.status, f"rows {first}-{last}: {exc.error} "
                                f"(after {attempt} attempts)", exc.retryable) from None
            self.stats.retries += 1
            self.submit(shard, attempt + 1)
            self.flight.rotate(1)           # the retry is the head again
            return self.take()

    def write(self, shard: int, values: np.ndarray) -> None:
        if self.out is None:
            self.stats.outputs = values.shape[1]
            shape = (self.x.shape[0], values.shape[1])
            self.out = (np.lib.format.open_memmap(self.output, mode="w+", dtype="<f4",
                                                  shape=shape)
                        if self.output else np.empty(shape, dtype=np.float32))
        if values.shape[1] != self.stats.outputs:
            raise MaasError(f"shard {shard}: {values.shape[1]} outputs per row, earlier "
                            f"shards had {self.stats.outputs}")
        first = shard * self.shard_rows
        self.out[first:first + values.shape[0]] = values
        self.stats.rows += values.shape[0]
        self.stats.shards += 1

    def cancel(self) -> None:
        for _, job, _ in self.flight:
            job.cancel()


def score(client: Any, model: str, x: Any, output: Optional[str] = None, *,
          shard_rows: int = SHARD_ROWS, window: int = WINDOW, progress: Any = True,
          attempts: int = ATTEMPTS, timeout: float = 120.0) -> Any:
    """Score every row of X (an array, or the path of a .npy file) on MODEL
    (``name``, ``name@3``, ``name@alias``: resolved to one version first,
    ``client.last_score.version`` says which). Returns rows × outputs
    float32 in input order, or, with OUTPUT (a .npy path), writes them
    there and returns the path. PROGRESS: True (tqdm if installed, else
    plain lines on stderr), ``"plain"``, or False. A shard that fails is
    retried up to ATTEMPTS runs; TIMEOUT bounds the wait for one shard.
    Ctrl-C cancels the shards in flight."""
    array, _ = _source(x)
    name, version = client.models.resolve(model)
    stats = ScoreStats(name, version)
    client.last_score = stats
    if shard_rows < 1 or window < 1:
        raise ValueError("shard_rows and window must be at least 1")
    run = _Run(client, array, output, stats, shard_rows, window, attempts, timeout)
    shards = (array.shape[0] + shard_rows - 1) // shard_rows
    bar = _Bar(progress, array.shape[0], f"{name}@{version}")
    started, next_shard = time.monotonic(), 0
    try:
        while stats.shards < shards:
            while next_shard < shards and len(run.flight) < window:
                run.submit(next_shard, 1)
                next_shard += 1
            shard, values = run.take()
            run.write(shard, values)
            bar.update(values.shape[0])
    except BaseException:
        run.cancel()
        raise
    finally:
        bar.close()
        stats.seconds = time.monotonic() - started
    if output:
        run.out.flush()
        del run.out
        return output
    return run.out
