"""Fixtures: a real stack (`maas up --state DIR --workers 2 --trainers 1`)
from the build tree, stopped by `maas down` when the session ends; a client
on it; a model trained by the C trainer on a data set stored from Python.
Nothing is skipped: a missing build or program fails the tests."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import maas  # noqa: E402

SRC = os.environ.get("MAAS_TOP_SRCDIR") or os.path.abspath(os.path.join(HERE, "../../.."))
BUILD = os.environ.get("MAAS_TOP_BUILDDIR") or os.path.join(SRC, "build")


class Stack:
    """A stack in DIR started by the build tree's `maas up`."""

    def __init__(self, workers: int = 2, trainers: int = 1, secure: bool = False) -> None:
        self.maas_bin = os.path.join(BUILD, "client", "maas")
        if not os.access(self.maas_bin, os.X_OK):
            raise RuntimeError(f"{self.maas_bin} is not built (make -C {BUILD})")
        self.dir = tempfile.mkdtemp(prefix="maas-py-")
        self.started: List[subprocess.Popen] = []
        #  No gateway: its default port 8501 is shared by every stack on the machine.
        up = self.maas("up", "--state", self.dir, "--workers", str(workers),
                       "--trainers", str(trainers), "--http", "off",
                       *(("--secure",) if secure else ()), state=False)
        if up.returncode != 0:
            raise RuntimeError(f"maas up failed: {up.stdout}{up.stderr}")
        self.env = maas._stack.load_env(self.dir)

    def maas(self, *args: str, state: bool = True, check: bool = False,
             timeout: float = 120) -> subprocess.CompletedProcess:
        """Run the CLI on this stack; CompletedProcess with text output."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAAS_BROKER_FRONTEND", "MAAS_REDIS_URL")}
        if state:
            env["MAAS_STATE_DIR"] = self.dir
        done = subprocess.run([self.maas_bin, *args], env=env, capture_output=True, text=True,
                              timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"maas {' '.join(args)}: {done.stdout}{done.stderr}")
        return done

    def pids(self) -> Dict[str, int]:
        """Role → PID of the last process recorded for it in stack.pids."""
        found = {}
        with open(os.path.join(self.dir, "stack.pids")) as pids:
            for line in pids:
                role, pid, _ = line.split()
                found[role] = int(pid)
        return found

    def restart_broker(self, down_s: float = 0.3) -> None:
        """Kill the broker by its PID (SIGKILL: a crash) and start it again
        with the arguments `maas up` gave it, recorded in stack.pids so
        `maas down` stops it."""
        pid = self.pids()["broker"]
        #  Its own command line, read before the kill: the name `maas up`
        #  gave it is what recovers the jobs it held (docs/redis.md).
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            argv = [arg.decode() for arg in cmdline.read().split(b"\0") if arg]
        os.kill(pid, signal.SIGKILL)
        time.sleep(down_s)
        broker = os.path.join(BUILD, "broker", "maas-broker")
        log = open(os.path.join(self.dir, "logs", "broker.log"), "ab")
        proc = subprocess.Popen([broker] + argv[1:],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
        log.close()
        self.started.append(proc)
        with open(os.path.join(self.dir, "stack.pids"), "a") as pids:
            pids.write(f"broker {proc.pid} maas-broker\n")

    def stop(self) -> None:
        """`maas down`, reap what this test started, remove the dir."""
        self.maas("down", "--state", self.dir, state=False)
        for proc in self.started:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def submit_rows(client, version, x, count, done, after_each=None):
    """COUNT tracked 1-row infer jobs of cancer@VERSION cycling through the
    rows of X, each with DONE as its callback; AFTER_EACH() after each submit."""
    jobs = []
    for i in range(count):
        job = client.submit("infer", model="cancer", version=version, data=x[i % len(x)])
        job.add_done_callback(done)
        jobs.append(job)
        if after_each:
            after_each()
    return jobs


@pytest.fixture(scope="session")
def stack():
    stack = Stack()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def client(stack):
    with maas.Client.from_env(stack.dir) as client:
        yield client


@pytest.fixture(scope="session")
def cancer(client):
    """A model trained by maas-trainer on a data set stored from Python:
    (Trained, features, labels), with alias `production` on it."""
    path = os.path.join(SRC, "data", "breast_cancer_train.csv")
    manifest = client.datasets.put_csv(path, label="label", name="cancer-py")
    trained = client.train("cancer-py", model="cancer", layers="16:relu,1:sigmoid",
                           epochs=5, seed=1, timeout=60)
    assert trained.dataset_sha256 == manifest["sha256"]
    client.models.alias("cancer", "production", trained.version)
    features, labels = client.datasets.get("cancer-py")
    return trained, np.array(features), np.array(labels)
