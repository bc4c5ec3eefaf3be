"""Jobs through the real broker: many in flight with each result exactly
once, idempotent resubmission, deadlines, cancel, asyncio, status."""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import threading
import time

import numpy as np
import pytest

import maas
from conftest import submit_rows


def test_20000_tracked_jobs_256_in_flight_each_result_once(stack, cancer):
    trained, x, _ = cancer
    seen = collections.Counter()
    lock = threading.Lock()
    most = [0]

    def done(job):
        with lock:
            seen[job.id] += 1

    with maas.Client.from_env(stack.dir, window=256) as client:
        engine = client._engine            # held: awaited, then queued for the socket
        jobs = submit_rows(client, trained.version, x, 20000, done, lambda: most.__setitem__(
            0, max(most[0], len(engine.jobs) + len(engine.commands))))
        maas.wait_all(jobs, 120)
    assert most[0] <= 256
    assert len(seen) == 20000 and set(seen.values()) == {1}
    assert all(j.exception() is None for j in jobs)
    got = np.concatenate([j.result().values() for j in jobs[:len(x)]])
    assert got.shape == (len(x), 1)


def test_same_id_runs_once(client, cancer):
    trained, x, _ = cancer
    first = client.submit("infer", model="cancer", version=trained.version, data=x[:2],
                          id="py-resubmit-1").result(30)
    record = client.job("py-resubmit-1")
    again = client.submit("infer", model="cancer", version=trained.version, data=x[:2],
                          id="py-resubmit-1").result(30)
    later = client.job("py-resubmit-1")
    assert again.data == first.data
    assert later.attempts == record.attempts == 1
    assert later.started == record.started and later.finished == record.finished


def test_deadline_passed_ends_expired(client, cancer):
    trained, x, _ = cancer
    job = client.submit("infer", model="cancer", version=trained.version, data=x[:1],
                        deadline=time.time() - 1)
    with pytest.raises(maas.JobFailed) as failed:
        job.result(30)
    assert failed.value.status == "expired"
    assert client.job(job.id).status == "expired"


def test_cancel_a_running_train_job(client, cancer):
    reports = []
    job = client.train("cancer-py", model="cancel-me", layers="64:relu,1:sigmoid",
                       epochs=100000, wait=False, on_progress=reports.append)
    deadline = time.monotonic() + 30
    while not reports and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reports, "no progress report within 30 s"
    assert reports[0].fields["epoch"].startswith("1/") and 0 < reports[0].fraction < 1
    assert job.cancel()
    with pytest.raises(concurrent.futures.CancelledError):
        job.result(30)
    assert job.cancelled()
    #  The broker's final write lands a moment after the client has its
    #  answer (docs/redis.md), so the record is read until it says so.
    deadline = time.monotonic() + 10
    while client.job(job.id).status != "cancelled" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.job(job.id).status == "cancelled"
    with pytest.raises(maas.NotFound):
        client.models.get("cancel-me")


def test_await_under_asyncio(client, cancer):
    trained, x, _ = cancer

    async def main():
        jobs = [client.submit("infer", model="cancer@production", data=x[i]) for i in range(50)]
        return await asyncio.gather(*jobs)

    results = asyncio.run(main())
    assert [r.version for r in results] == [trained.version] * 50


def test_fetch_a_finished_job_from_another_client(stack, client, cancer):
    trained, x, _ = cancer
    done = client.submit("infer", model="cancer", version=trained.version, data=x[:3]).result(30)
    with maas.Client.from_env(stack.dir) as other:
        fetched = other.fetch(done.id).result(30)
    assert fetched.data == done.data


def test_job_status_and_listing(client, cancer):
    trained, x, _ = cancer
    job = client.submit("infer", model="cancer", version=trained.version, data=x[:4])
    job.result(30)
    deadline = time.monotonic() + 5
    while client.job(job.id).status != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.02)                   # the final write may trail the RESULT
    status = client.job(job.id)
    assert status.status == "succeeded" and status.kind == "infer" and status.model == "cancer"
    assert status.attempts == 1 and status.worker
    assert status.batch_rows >= 4 and status.batch_jobs >= 1
    assert status.queued_s is not None and status.ran_s is not None and status.ran_s >= 0
    fresh = client.train("cancer-py", model="listed", layers="1:sigmoid", epochs=1, timeout=60)
    train = client.jobs(kind="train", status="succeeded", limit=5)
    assert fresh.job_id in [j.id for j in train]
    assert all(j.kind == "train" and j.status == "succeeded" for j in train)
    assert job.id in [j.id for j in client.jobs(kind="infer", limit=200)]
    with pytest.raises(maas.NotFound):
        client.job("no-such-job")


def test_train_reports_progress_and_the_published_version(client, cancer):
    reports = []
    trained = client.train("cancer-py", model="progress", layers=[(8, "relu"), (1, "sigmoid")],
                           epochs=3, on_progress=reports.append, timeout=60)
    assert [r.fields["epoch"] for r in reports] == ["1/3", "2/3", "3/3"]
    assert trained.ref == f"progress@{trained.version}" and trained.epochs == 3
    assert "accuracy" in trained.metrics
    stored = client.models.get(trained.ref)
    assert stored.job_id == trained.job_id and stored.inputs == 30 and stored.outputs == 1


def test_train_spec_error_is_the_trainers_reason(client, cancer):
    with pytest.raises(maas.JobFailed) as failed:
        client.train("cancer-py", model="typo", layers="8:relo,1:sigmoid", timeout=30)
    assert "unknown activation 'relo'" in str(failed.value)
    with pytest.raises(maas.JobFailed) as failed:
        client.train("no-such-set", model="typo", layers="1:sigmoid", timeout=30)
    assert "data set 'no-such-set' not found" in failed.value.error
