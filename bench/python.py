#!/usr/bin/python3
"""bench/python.py: the Python client (client/python) against the C client
on one private stack (`maas up --workers 2 --trainers 1`) in the same run:
tracked 1-row infer jobs/s from one Python process with 256 in flight, the
same through libmaas (bench/python_c), and rows/s of score() on a
1,000,000-row array against `maas score` on the same rows as a .npy file.
JSON lines on stdout, progress on stderr. Run: make -C build bench-python."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("MAAS_TOP_SRCDIR") or os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))
BUILD = os.environ.get("MAAS_TOP_BUILDDIR") or os.path.join(SRC, "build")
sys.path.insert(0, os.path.join(SRC, "client", "python"))

import numpy as np  # noqa: E402

import maas  # noqa: E402

JOBS = int(os.environ.get("MAAS_BENCH_JOBS", "20000"))
WINDOW = 256
ROWS = 1_000_000


def figure(case: str, metric: str, value: float, unit: str, **extra) -> None:
    print(json.dumps({"bench": "python", "case": case, "metric": metric,
                      "value": float(f"{value:.6g}"), "unit": unit, **extra}), flush=True)


def run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: {done.stdout}{done.stderr}")
    return done.stdout


def python_jobs(client: maas.Client, ref: str, row: np.ndarray) -> float:
    started = time.monotonic()
    jobs = [client.submit("infer", model=ref, data=row) for _ in range(JOBS)]
    maas.wait_all(jobs, 300)
    seconds = time.monotonic() - started
    failed = sum(1 for j in jobs if j.exception() is not None)
    figure("python_client_infer_1row_tracked", "jobs_per_s", JOBS / seconds, "jobs/s",
           jobs=JOBS, window=WINDOW, failed=failed)
    return JOBS / seconds


def scoring(client: maas.Client, maas_bin: str, env: dict, ref: str, work: str) -> None:
    rows = np.random.default_rng(0).standard_normal((ROWS, 30)).astype(np.float32)
    path = os.path.join(work, "rows.npy")
    np.save(path, rows)
    started = time.monotonic()
    client.score(ref, rows, progress=False)
    seconds = time.monotonic() - started
    figure("python_score_1M", "rows_per_s", ROWS / seconds, "rows/s", rows=ROWS)
    started = time.monotonic()
    out = subprocess.run([maas_bin, "score", ref, "--input", path, "--output",
                          os.path.join(work, "c.npy")], env=env, capture_output=True,
                         text=True, timeout=600, check=True).stdout
    seconds = time.monotonic() - started
    figure("maas_score_1M", "rows_per_s", ROWS / seconds, "rows/s", rows=ROWS,
           reported=float(re.search(r"([0-9.]+) rows/s", out).group(1)))


def main() -> None:
    work = tempfile.mkdtemp(prefix="maas-bench-py-")
    state = os.path.join(work, "stack")
    maas_bin = os.path.join(BUILD, "client", "maas")
    run(maas_bin, "up", "--state", state, "--workers", "2", "--trainers", "1")
    env = {**os.environ, "MAAS_STATE_DIR": state}
    try:
        with maas.Client.from_env(state, window=WINDOW) as client:
            client.datasets.put_csv(os.path.join(SRC, "data", "breast_cancer_train.csv"),
                                    label="label", name="bench")
            trained = client.train("bench", layers="32:relu,1:sigmoid", epochs=5, timeout=120)
            print(f"bench: model {trained.ref}", file=sys.stderr)
            x, _ = client.datasets.get("bench")
            python_jobs(client, trained.ref, x[:1])
            print(run(os.path.join(BUILD, "bench", "python_c"), client.endpoints[0],
                      trained.model, str(trained.version), "30", str(JOBS), str(WINDOW)),
                  end="", flush=True)
            scoring(client, maas_bin, env, trained.ref, work)
    finally:
        run(maas_bin, "down", "--state", state)
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
