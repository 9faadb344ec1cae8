"""Shared contents of the synthetic generator (SyntheticConfig.num_backgrounds, spec A8.1):
images of one content id share background, skin and light; the tag image is that
background; generate_transfer draws one sample's hand on another's content, and is the
sample itself when both are the same; K = 0 keeps every image's own content."""

import numpy as np
import pytest

from jaxhands.synthetic import appearance
from jaxhands.synthetic.config import SyntheticConfig
from jaxhands.synthetic.generator import generate_sample, generate_samples, generate_transfer

SIZE, POINTS = 48, 16


def _sample(i, k=3, background="textured"):
    return generate_sample(i, seed=2, image_size=SIZE, num_points=POINTS,
                           config=SyntheticConfig(num_backgrounds=k, background=background))


def test_compose_image_with_the_drawn_content_is_the_default_image():
    """The Content refactor changes no image: drawing the content first from the same rng
    state gives the same pixels as letting compose_image draw it."""
    hand = np.arange(100, 400)
    normals = np.tile([0.0, 0.0, -1.0], (300, 1))
    default = appearance.compose_image(np.random.default_rng(5), SIZE, SIZE, hand, normals, (1.0, 6.0))
    rng = np.random.default_rng(5)
    content = appearance.draw_content(rng, SIZE, SIZE)
    explicit = appearance.compose_image(rng, SIZE, SIZE, hand, normals, (1.0, 6.0), content=content)
    np.testing.assert_array_equal(explicit, default)


def test_images_of_one_content_share_the_background_and_the_tag_image():
    a, same, other = _sample(0), _sample(3), _sample(1)
    assert int(a["content_id"]) == int(same["content_id"]) == 0 and int(other["content_id"]) == 1
    np.testing.assert_array_equal(a["tag_image"], same["tag_image"])
    assert np.abs(a["tag_image"].astype(int) - other["tag_image"].astype(int)).mean() > 10
    for s in (a, same, other):  # off the hand, the image is the tag image plus pixel noise (std <= 6)
        off = s["mask"] == 0
        diff = np.abs(s["image"].astype(int) - s["tag_image"].astype(int))[off]
        assert diff.mean() < 6.0, diff.mean()
    # ... and far from another content's background.
    off = a["mask"] == 0
    assert np.abs(a["image"].astype(int) - other["tag_image"].astype(int))[off].mean() > 10
    stacked = generate_samples([0, 1], seed=2, image_size=SIZE, num_points=POINTS,
                               config=SyntheticConfig(num_backgrounds=3))
    assert stacked["tag_image"].shape == (2, SIZE, SIZE, 3) and stacked["content_id"].tolist() == [0, 1]


def test_transfer_draws_one_hand_on_another_content():
    config = SyntheticConfig(num_backgrounds=3, background="plain")
    a, b = _sample(0, background="plain"), _sample(1, background="plain")
    same = generate_transfer(0, 0, seed=2, image_size=SIZE, num_points=POINTS, config=config)
    for name in a:
        np.testing.assert_array_equal(same[name], a[name])  # transfer(i, i) is sample i
    moved = generate_transfer(0, 1, seed=2, image_size=SIZE, num_points=POINTS, config=config)
    for name in a:
        if name not in ("image", "content_id", "tag_image"):
            np.testing.assert_array_equal(moved[name], a[name])  # A's hand, camera, labels
    np.testing.assert_array_equal(moved["tag_image"], b["tag_image"])
    assert int(moved["content_id"]) == 1
    off, on = a["mask"] == 0, a["mask"] == 1
    to_b = np.abs(moved["image"].astype(int) - b["tag_image"].astype(int))[off].mean()
    to_a = np.abs(moved["image"].astype(int) - a["tag_image"].astype(int))[off].mean()
    assert to_b < 6.0 < to_a, (to_b, to_a)
    # The hand is shaded with B's skin and light: identical to any other sample of B's content.
    again = generate_transfer(0, 4, seed=2, image_size=SIZE, num_points=POINTS, config=config)
    np.testing.assert_array_equal(again["image"], moved["image"])
    assert np.abs(moved["image"].astype(int) - a["image"].astype(int))[on].mean() > 3


def test_without_shared_contents_there_are_no_content_fields_and_no_transfer():
    plain = generate_sample(0, seed=2, image_size=SIZE, num_points=POINTS)
    assert "content_id" not in plain and "tag_image" not in plain
    with pytest.raises(ValueError, match="num_backgrounds >= 1"):
        generate_transfer(0, 1, seed=2, image_size=SIZE, num_points=POINTS, config=SyntheticConfig())
    with pytest.raises(ValueError, match="num_backgrounds"):
        SyntheticConfig(num_backgrounds=-1)
