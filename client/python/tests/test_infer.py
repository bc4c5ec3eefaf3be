"""infer(): equal bit for bit to the C client (`maas infer --json`), and
bad input answered with a reason."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import maas


def _c_infer(stack, tmp_path, ref, rows):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([[float(v) for v in row] for row in rows]))
    done = stack.maas("infer", ref, "--input", str(path), "--json", check=True)
    answer = json.loads(done.stdout)
    values = np.array([r["values"] for r in answer["rows"]], dtype=np.float32)
    classes = np.array([r["class"] for r in answer["rows"]])
    return answer, values, classes


def test_infer_equals_the_c_client_bit_for_bit(stack, client, cancer, tmp_path):
    trained, x, _ = cancer
    rows = x[:40]
    answer, values, classes = _c_infer(stack, tmp_path, "cancer@production", rows)
    got = client.infer("cancer@production", rows)
    assert got.dtype == np.float32 and got.shape == (40, 1)
    assert np.array_equal(got.view(np.uint32), values.view(np.uint32))
    assert np.array_equal(client.infer(f"cancer@{trained.version}", rows, output="class"),
                          classes)
    assert answer["version"] == trained.version


def test_result_exposes_version_and_meta(client, cancer):
    trained, x, _ = cancer
    result = client.submit("infer", model="cancer", alias="production", data=x[:2]).result(30)
    assert result.version == trained.version
    assert result.meta["batch_rows"] >= 2 and "compute_us" in result.meta
    assert result.retryable is None or isinstance(result.retryable, bool)
    one_row = client.infer("cancer", x[0])             # a 1-D array is one row
    assert one_row.shape == (1, 1)


def test_float64_and_integer_rows_are_sent_as_float32(client, cancer):
    _, x, _ = cancer
    as_f32 = client.infer("cancer@production", x[:5])
    assert np.array_equal(client.infer("cancer@production", x[:5].astype(np.float64)), as_f32)


@pytest.mark.parametrize("rows, error", [
    (np.array([["a", "b"]]), TypeError),
    (np.zeros((2, 3), dtype=complex), TypeError),
    (np.zeros((2, 3, 4), dtype=np.float32), ValueError),
    (np.zeros((0, 30), dtype=np.float32), ValueError),
])
def test_bad_dtype_or_shape_is_refused_before_sending(client, rows, error):
    with pytest.raises(error):
        client.infer("cancer", rows)


def test_wrong_feature_count_nan_and_unknown_model_fail_with_the_workers_reason(client,
                                                                                   cancer):
    trained, x, _ = cancer
    with pytest.raises(maas.JobFailed) as failed:
        client.infer("cancer@production", x[:2, :29])
    assert "expected 30 features, got 29" in failed.value.error
    assert failed.value.status == "failed"
    bad = x[:3].copy()
    bad[1, 4] = np.nan
    with pytest.raises(maas.JobFailed) as failed:
        client.infer("cancer@production", bad)
    assert "not a finite number" in str(failed.value)
    with pytest.raises(maas.JobFailed) as failed:
        client.infer("nosuch", x[:1])
    assert "unknown model nosuch" in failed.value.error
    with pytest.raises(maas.JobFailed) as failed:
        client.infer("cancer@staging", x[:1])
    assert "has no alias 'staging'" in failed.value.error
    with pytest.raises(ValueError):
        client.infer("bad name@1", x[:1])


def test_bad_params_fail_with_a_reason_and_bad_fields_are_refused(client):
    job = client.submit("infer", model="cancer", data=b"junk", params={"shape": "no"})
    with pytest.raises(maas.JobFailed) as failed:
        job.result(30)
    assert failed.value.error
    with pytest.raises(ValueError):
        client.submit("infer", priority=12)
    with pytest.raises(ValueError):
        client.submit("bad kind!")


def test_labels_and_top_k(client, cancer):
    trained, x, _ = cancer
    rows = x[:20]
    proba = client.infer(trained.ref, rows)[:, 0]
    classes = client.infer(trained.ref, rows, output="class")
    labels = client.infer(trained.ref, rows, output="label")
    # The data set's labels are 0 and 1: the model's classes are named so.
    assert list(labels) == [str(c) for c in classes]
    top = client.infer(trained.ref, rows, top_k=2)
    for r, pairs in enumerate(top):
        assert pairs[0][0] == str(classes[r]) and pairs[0][1] >= pairs[1][1]
        assert dict(pairs)["1"] == pytest.approx(float(proba[r]), abs=1e-7)
    with pytest.raises(ValueError):
        client.infer(trained.ref, rows, output="klass")
    with pytest.raises(maas.JobFailed, match="top_k 3 is more than the model's 2 classes"):
        client.infer(trained.ref, rows, top_k=3)
