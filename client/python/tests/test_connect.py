"""Finding the stack like the CLI does, and several broker endpoints."""
from __future__ import annotations

import numpy as np
import pytest

import maas


def test_from_env_reads_the_state_dir_and_the_environment_wins(stack, monkeypatch):
    monkeypatch.delenv("MAAS_BROKER_FRONTEND", raising=False)
    monkeypatch.delenv("MAAS_REDIS_URL", raising=False)
    monkeypatch.setenv("MAAS_STATE_DIR", stack.dir)
    with maas.Client.from_env() as client:
        assert client.endpoints == [stack.env["MAAS_BROKER_FRONTEND"]]
        assert client.redis_url == stack.env["MAAS_REDIS_URL"]
        assert client.ping(5) < 5
    monkeypatch.setenv("MAAS_BROKER_FRONTEND", "ipc:///nonexistent/front.sock")
    with maas.Client.from_env(stack.dir) as client:
        assert client.endpoints == ["ipc:///nonexistent/front.sock"]
    monkeypatch.delenv("MAAS_BROKER_FRONTEND")
    with pytest.raises(maas.MaasError) as missing:
        maas.Client.from_env("/nonexistent-state")
    assert "run maas up" in str(missing.value)
    with pytest.raises(maas.MaasError):
        maas.Client("not-an-endpoint")


def test_a_list_of_endpoints(stack, cancer):
    trained, x, _ = cancer
    front = stack.env["MAAS_BROKER_FRONTEND"]
    with maas.Client.from_env(stack.dir) as one:
        expected = one.infer(trained.ref, x[:1])
    with maas.Client(f"{front}, {front}", redis=stack.env["MAAS_REDIS_URL"]) as client:
        assert client.endpoints == [front, front]
        jobs = [client.submit("infer", model=trained.ref, data=x[:1]) for _ in range(100)]
        maas.wait_all(jobs, 30)
        assert all(np.array_equal(j.result().values(), expected) for j in jobs)
