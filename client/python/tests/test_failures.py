"""A dead broker and a dead Redis give clear exceptions within the
timeout; on its own stack, since Redis does not come back."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import numpy as np
import pytest

import maas
from conftest import BUILD, Stack


def test_dead_broker_times_out_with_a_clear_message(tmp_path):
    endpoint = f"ipc://{tmp_path}/nobody.sock"
    with maas.Client(endpoint, redis="unix:///nonexistent.sock", timeout=1.0) as client:
        started = time.monotonic()
        with pytest.raises(maas.Timeout) as timeout:
            client.infer("cancer", np.zeros((1, 30), dtype=np.float32))
        assert time.monotonic() - started < 3
        assert "no broker answered within 1.0 s" in str(timeout.value)
        assert endpoint in str(timeout.value)
        with pytest.raises(maas.Timeout):
            client.ping(0.5)
        with pytest.raises(TimeoutError):              # also a plain TimeoutError
            client.submit("infer", model="m", data=b"").result(0.2)
    with maas.Client(endpoint, window=2, timeout=0.5) as client:
        client.submit("infer", data=b"")
        client.submit("infer", data=b"")
        with pytest.raises(maas.Timeout) as full:     # the window never empties
            client.submit("infer", data=b"")
        assert "window of jobs in flight stayed full for 0.5 s" in str(full.value)


def test_overloaded_broker(stack, tmp_path):
    broker = subprocess.Popen([os.path.join(BUILD, "broker", "maas-broker"),
                               "--frontend", f"ipc://{tmp_path}/front.sock",
                               "--backend", f"ipc://{tmp_path}/back.sock",
                               "--redis", stack.env["MAAS_REDIS_URL"], "--name", "py-overload",
                               "--max-jobs", "2"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with maas.Client(f"ipc://{tmp_path}/front.sock", timeout=10) as client:
            #  No worker serves this broker: its built-in kind infer queues until full.
            held = [client.submit("infer", tracked=False) for _ in range(2)]
            with pytest.raises(maas.Overloaded) as refused:
                client.submit("infer", tracked=False).result(10)
            assert refused.value.reason == "overloaded"
            assert isinstance(refused.value, maas.Rejected)
            for job in held:
                assert not job.done()
    finally:
        broker.terminate()
        broker.wait(10)


def test_dead_redis():
    stack = Stack(workers=1, trainers=0)
    try:
        with maas.Client.from_env(stack.dir) as client:
            assert client.models.list() == []
            os.kill(stack.pids()["redis"], signal.SIGKILL)
            time.sleep(0.2)
            with pytest.raises(maas.RedisError) as down:
                client.models.list()
            assert client.redis_url in str(down.value)
            with pytest.raises(maas.RedisError):
                client.job("01M8TNMCKMATPBWF647B6TS291")
            started = time.monotonic()
            with pytest.raises(maas.Rejected) as rejected:
                client.submit("infer", model="m", data=np.zeros((1, 2))).result(20)
            assert rejected.value.reason == "unavailable"
            assert "job store unavailable" in str(rejected.value)
            assert time.monotonic() - started < 15
    finally:
        stack.stop()


def test_malformed_answers_do_not_stop_the_client(tmp_path):
    """A ROUTER standing in for a broker answers a SUBMIT with junk first:
    the client drops it and still takes the real RESULT that follows."""
    import zmq
    from maas import _wire
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    router.bind(f"ipc://{tmp_path}/fake.sock")
    try:
        with maas.Client(f"ipc://{tmp_path}/fake.sock", redis="unix:///none") as client:
            job = client.submit("echo", data=b"x", id="fake-1")
            peer, tag, command, header, payload = router.recv_multipart()
            assert (tag, command, payload) == (_wire.TAG, _wire.SUBMIT, b"x")
            assert _wire.unpack(header)["id"] == "fake-1"
            junk = [[b"NOPE1", _wire.RESULT, header], [_wire.TAG, _wire.RESULT, b"\xc1"],
                    [_wire.TAG, _wire.RESULT, _wire.pack([1, 2])],
                    [_wire.TAG, _wire.PROGRESS, _wire.pack({"id": "fake-1", "progress": "x"})],
                    [_wire.TAG, _wire.PROGRESS, _wire.pack({"id": "fake-1", "progress": [1]})]]
            for frames in junk:
                router.send_multipart([peer, *frames])
            router.send_multipart([peer, _wire.TAG, _wire.RESULT,
                                   _wire.pack({"id": "fake-1", "status": "succeeded",
                                               "version": 7, "retryable": False}), b"out"])
            result = job.result(10)
            assert result.data == b"out" and result.version == 7 and result.retryable is False
    finally:
        router.close(0)
        context.term()
