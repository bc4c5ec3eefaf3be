"""CurveZMQ from Python against a `maas up --secure` stack: from_env takes
the stack's keys from its env file and infers; keys given by hand work the
same; no keys (or a bad key file) is a clear error, never a hang."""
from __future__ import annotations

import os

import numpy as np
import pytest

import maas
from conftest import SRC, Stack


@pytest.fixture(scope="module")
def secure():
    stack = Stack(workers=1, trainers=1, secure=True)
    yield stack
    stack.stop()


def test_keys_from_the_env_file_infer(secure, monkeypatch):
    for name in ("MAAS_BROKER_FRONTEND", "MAAS_REDIS_URL", "MAAS_CURVE_KEY", "MAAS_BROKER_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert secure.env["MAAS_CURVE_KEY"].endswith("admin_secret")
    with maas.Client.from_env(secure.dir) as client:
        path = os.path.join(SRC, "data", "breast_cancer_train.csv")
        client.datasets.put_csv(path, label="label", name="cancer-curve")
        trained = client.train("cancer-curve", model="curve", layers="8:relu,1:sigmoid",
                               epochs=2, seed=1, timeout=60)
        features, _ = client.datasets.get("cancer-curve")
        proba = client.infer(f"curve@{trained.version}", np.array(features[:4]), timeout=10)
        assert np.asarray(proba).shape[0] == 4


def test_keys_by_hand_and_without(secure):
    env = secure.env
    with maas.Client(env["MAAS_BROKER_FRONTEND"], redis=env["MAAS_REDIS_URL"],
                     curve_key=env["MAAS_CURVE_KEY"], broker_key=env["MAAS_BROKER_KEY"]) as ok:
        assert ok.ping(5) < 5
    with maas.Client(env["MAAS_BROKER_FRONTEND"], redis=env["MAAS_REDIS_URL"]) as plain:
        with pytest.raises(maas.Timeout) as refused:
            plain.ping(1)
        assert "no PONG" in str(refused.value)
    with pytest.raises(maas.MaasError) as bad:
        maas.Client(env["MAAS_BROKER_FRONTEND"], curve_key="/nonexistent",
                    broker_key=env["MAAS_BROKER_KEY"])
    assert "/nonexistent" in str(bad.value)
    with pytest.raises(maas.MaasError) as half:
        maas.Client(env["MAAS_BROKER_FRONTEND"], curve_key=env["MAAS_CURVE_KEY"])
    assert "both" in str(half.value)
