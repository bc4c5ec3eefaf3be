"""A broker killed in the middle of 5,000 tracked jobs and started again:
every job's result arrives, exactly once."""
from __future__ import annotations

import collections
import threading

import maas
from conftest import submit_rows


def test_broker_restart_loses_no_job(stack, cancer):
    trained, x, _ = cancer
    seen = collections.Counter()
    lock = threading.Lock()
    halfway = threading.Event()

    def done(job):
        with lock:
            seen[job.id] += 1
            if len(seen) >= 1500:
                halfway.set()

    with maas.Client.from_env(stack.dir, window=1000, retry=0.5) as client:
        at_kill = []
        first_broker = stack.pids()["broker"]

        def restart():
            halfway.wait(60)
            with lock:
                at_kill.append(len(seen))
            stack.restart_broker()

        restarter = threading.Thread(target=restart)
        restarter.start()
        jobs = submit_rows(client, trained.version, x, 5000, done)
        restarter.join(60)
        maas.wait_all(jobs, 90)
    assert halfway.is_set()
    assert len(seen) == 5000 and set(seen.values()) == {1}
    failed = [j.exception() for j in jobs if j.exception() is not None]
    assert not failed, failed[:3]
    assert at_kill and at_kill[0] < 4000, at_kill     # killed in the middle
    assert stack.pids()["broker"] != first_broker
