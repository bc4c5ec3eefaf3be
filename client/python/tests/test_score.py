"""score(): 1,000,000 rows fanned out over both workers equal `maas score`
on the same file bit for bit; one version for the run; progress shown."""
from __future__ import annotations

import numpy as np
import pytest

import maas


@pytest.fixture(scope="module")
def million(tmp_path_factory):
    path = tmp_path_factory.mktemp("score") / "million.npy"
    rows = np.random.default_rng(7).standard_normal((1_000_000, 30)).astype(np.float32)
    np.save(path, rows)
    return str(path), rows


def test_million_rows_equal_maas_score(stack, client, cancer, million, tmp_path, capsys):
    trained, _, _ = cancer
    path, rows = million
    c_out = tmp_path / "c.npy"
    stack.maas("score", "cancer@production", "--input", path, "--output", str(c_out),
               check=True)
    expected = np.load(c_out)
    got = client.score("cancer@production", rows, progress="plain")
    assert got.shape == (1_000_000, 1) and got.dtype == np.float32
    assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))
    stats = client.last_score
    assert stats.version == trained.version and stats.rows == 1_000_000
    assert stats.shards == (1_000_000 + 16383) // 16384
    err = capsys.readouterr().err
    assert f"scoring cancer@{trained.version}: 1000000 rows" in err
    assert "1000000/1000000 rows" in err


def test_file_to_file_with_small_shards(client, cancer, million, tmp_path):
    path, rows = million
    out = str(tmp_path / "py.npy")
    assert client.score("cancer", path, out, shard_rows=50_000, window=4, progress=False) == out
    head = client.infer("cancer", rows[:100])
    scored = np.load(out, mmap_mode="r")
    assert scored.shape == (1_000_000, 1)
    assert np.allclose(scored[:100], head)


def test_the_alias_is_resolved_once(client, cancer):
    trained, x, _ = cancer
    with pytest.raises(maas.NotFound):
        client.score("cancer@nosuch", x, progress=False)
    with pytest.raises(ValueError):
        client.score("cancer", np.zeros((0, 30), dtype=np.float32), progress=False)
    with pytest.raises(maas.JobFailed) as failed:
        client.score("cancer", x[:, :10], progress=False, attempts=2)
    assert "expected 30 features, got 10" in failed.value.error
    assert "after 2 attempts" in failed.value.error
