"""Models and data sets in Redis: the same chunked format as the C code in
both directions, and the registry read and aliased from Python."""
from __future__ import annotations

import os

import numpy as np
import pytest

import maas
from conftest import SRC


def test_python_and_c_store_the_same_bytes(stack, client, cancer):
    path = os.path.join(SRC, "data", "breast_cancer_train.csv")
    stack.maas("dataset", "put", "cancer-c", path, "--label", "label", check=True)
    from_c = client.datasets.info("cancer-c")
    from_py = client.datasets.info("cancer-py")
    assert from_c["sha256"] == from_py["sha256"]
    for field in ("rows", "cols", "task", "classes", "label", "columns", "format"):
        assert from_c[field] == from_py[field], field
    x_c, y_c = client.datasets.get("cancer-c")
    x_py, y_py = client.datasets.get("cancer-py")
    assert x_c.tobytes() == x_py.tobytes() and y_c.tobytes() == y_py.tobytes()
    assert {"cancer-c", "cancer-py"} <= set(client.datasets.list())


def test_small_chunks_multiclass_train_in_the_c_trainer(stack, client):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32) + (x[:, 1] > 0)
    manifest = client.datasets.put("three", x, y, chunk_bytes=1000)
    assert manifest["task"] == "multiclass" and manifest["classes"] == "3"
    assert int(manifest["x_chunks"]) == 5
    shown = stack.maas("dataset", "show", "three", check=True).stdout
    assert manifest["sha256"] in shown
    trained = client.train("three", layers="8:relu,3:softmax", loss="softmax_ce", epochs=3,
                           timeout=60)
    assert trained.dataset_sha256 == manifest["sha256"]
    classes = client.infer(trained.ref, x[:10], output="class")
    assert classes.shape == (10,) and set(classes) <= {0, 1, 2}
    x_back, y_back = client.datasets.get("three")
    assert np.array_equal(x_back, x) and np.array_equal(y_back, y)


@pytest.mark.parametrize("x, y, error, text", [
    (np.zeros((3, 2)), np.zeros(2), ValueError, "3 rows of features but 2 labels"),
    (np.array([[1.0, np.nan]]), np.zeros(1), ValueError, "not a finite number"),
    (np.zeros((2, 2)), np.array([0, 2]), ValueError, "binary labels are 0 or 1"),
    (np.array([["a"]]), np.zeros(1), TypeError, "must be numbers"),
])
def test_bad_data_sets_are_refused(client, x, y, error, text):
    task = "binary" if "binary" in text else "auto"
    with pytest.raises(error) as refused:
        client.datasets.put("bad", x, y, task=task)
    assert text in str(refused.value)
    with pytest.raises(ValueError):
        client.datasets.put("no spaces", np.zeros((1, 1)), np.zeros(1))
    for columns, label in ((["a", "a"], "label"), (["a", "b"], "b")):
        with pytest.raises(ValueError) as refused:
            client.datasets.put("bad", np.zeros((1, 2)), np.zeros(1), columns=columns, label=label)
        assert "is named twice" in str(refused.value)


def test_models_list_get_alias(stack, client, cancer):
    trained, _, _ = cancer
    names = [m.name for m in client.models.list()]
    assert "cancer" in names
    info = client.models.info("cancer")
    assert trained.version in info.versions and info.aliases["production"] == trained.version
    got = client.models.get("cancer@production")
    assert got.version == trained.version and got.inputs == 30 and "production" in got.aliases
    assert got.metrics["epochs"] == 5 and len(got.sha256) == 64
    client.models.alias("cancer", "staging-py", trained.version)
    listed = stack.maas("model", "list", check=True).stdout
    assert "staging-py" in listed
    #  The move is in the alias history, as the CLI's are; MLflow refs resolve.
    history = stack.maas("model", "history", "cancer", "staging-py", check=True).stdout
    assert f" -        {trained.version} " in history and "@" in history
    assert client.models.get("models:/cancer@staging-py").version == trained.version
    assert client.models.get(f"cancer/{trained.version}").version == trained.version
    with pytest.raises(ValueError):
        client.models.get("cancer/production")
    with pytest.raises(maas.MaasError) as refused:
        client.models.alias("cancer", "nope", 999)
    assert "has no version 999" in str(refused.value)
    with pytest.raises(maas.MaasError):
        client.models.alias("nosuch", "prod", 1)
    with pytest.raises(maas.NotFound):
        client.models.get("nosuch")
    with pytest.raises(maas.NotFound) as missing:
        client.models.get("cancer@999")
    assert "has no version 999" in str(missing.value)
