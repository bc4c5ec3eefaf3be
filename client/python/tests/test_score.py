"""score(): 1,000,000 rows fanned out over both workers equal `maas score`
on the same file bit for bit; one version for the run; progress shown."""
from __future__ import annotations

import numpy as np
import pytest

import maas


@pytest.fixture(scope="module")
def million(tmp_path_factory):
    folder = tmp_path_factory.mktemp("score")
    rows = np.random.default_rng(7).standard_normal((1_000_000, 30)).astype(np.float32)
    np.save(folder / "million.npy", rows)
    return str(folder / "million.npy"), rows


@pytest.fixture(scope="module")
def c_scores(stack, cancer, million, tmp_path_factory):
    """`maas score` of the million rows, as the C client wrote them."""
    out = tmp_path_factory.mktemp("c-score") / "c.npy"
    stack.maas("score", "cancer@production", "--input", million[0], "--output", str(out),
               check=True)
    return np.load(out)


def test_million_rows_equal_maas_score(client, cancer, million, c_scores, capsys):
    trained, _, _ = cancer
    path, rows = million
    expected = c_scores
    got = client.score("cancer@production", rows, progress="plain")
    assert got.shape == (1_000_000, 1) and got.dtype == np.float32
    assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))
    stats = client.last_score
    assert stats.version == trained.version and stats.rows == 1_000_000
    assert stats.shards == (1_000_000 + 16383) // 16384
    err = capsys.readouterr().err
    assert f"scoring cancer@{trained.version}: 1000000 rows" in err
    assert "1000000/1000000 rows" in err


def test_file_to_file_with_other_shards_is_the_same(client, cancer, million, c_scores,
                                                    tmp_path):
    path, rows = million
    out = str(tmp_path / "py.npy")
    assert client.score("cancer@production", path, out, shard_rows=50_000, window=4,
                        progress=False) == out
    scored = np.load(out)
    assert np.array_equal(scored.view(np.uint32), c_scores.view(np.uint32))
    head = client.infer("cancer@production", rows[:100])
    assert np.array_equal(head.view(np.uint32), c_scores[:100].view(np.uint32))


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
