"""Pixel nearest-neighbour baseline: pooling by hand, argmin by brute force, and an
exact recovery when every test crop is also a training crop."""

import numpy as np
import pytest

from jaxhands.baselines import pixel_nearest_neighbour as pnn


def test_pooled_pixels_by_hand():
    image = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    # 2x2 blocks: mean of (0, 1, 4, 5) = 2.5, (2, 3, 6, 7) = 4.5, (8, 9, 12, 13) = 10.5, ...
    np.testing.assert_allclose(pnn.pooled_pixels(image, 2), [[2.5, 4.5, 10.5, 12.5]])
    with pytest.raises(ValueError, match="multiple of pool_size"):
        pnn.pooled_pixels(np.zeros((1, 6, 6)), 4)


def test_nearest_indices_match_brute_force():
    rng = np.random.default_rng(0)
    keys, queries = rng.normal(size=(300, 12)), rng.normal(size=(50, 12))
    brute = np.argmin(((queries[:, None] - keys[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(pnn.nearest_indices(queries.astype(np.float32), keys.astype(np.float32),
                                                      chunk=7), brute)


class _Subset:
    def __init__(self, source, count):
        self._source, self._count = source, count

    def __len__(self):
        return self._count

    def __getitem__(self, i):
        return self._source[i]


@pytest.mark.parametrize("modality", ["rgb", "depth"])
def test_test_crops_seen_in_training_are_recovered_exactly(tmp_path, monkeypatch, modality):
    from jaxhands.configs.spurr18 import image_cross_modal_config
    from jaxhands.training import experiment

    config = image_cross_modal_config(modality, 1, image_size=32)
    config.data_dir = str(tmp_path)
    config.synthetic_num_train, config.synthetic_num_test = 48, 8
    build_sources = experiment.build_sources
    train, test = build_sources(config)
    # The test split is the first 10 training records: each is its own nearest neighbour.
    monkeypatch.setattr(experiment, "build_sources", lambda c, **_: (train, _Subset(train, 10)))
    exact = pnn.evaluate_pixel_nearest_neighbour(config, pool_size=8)
    assert exact["num_samples"] == 10 and exact["num_train"] == 48
    assert exact["mean_epe_mm"] == pytest.approx(0.0, abs=1e-3) and exact["pa_mean_epe_mm"] < 1e-3
    # On unseen hands it is a real error, in the range of the mean pose's (~100 mm).
    monkeypatch.setattr(experiment, "build_sources", build_sources)
    unseen = pnn.evaluate_pixel_nearest_neighbour(config, pool_size=8)
    assert 20.0 < unseen["mean_epe_mm"] < 250.0 and unseen["num_samples"] == 8


def test_rejects_a_non_image_config():
    from jaxhands.configs.spurr18 import cross_modal_config

    with pytest.raises(ValueError, match="needs an image input"):
        pnn.evaluate_pixel_nearest_neighbour(cross_modal_config("kp2d", 1))
