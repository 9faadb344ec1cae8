"""The image inference path: crop a full image, predict 3D joints, sample the posterior, draw."""

import numpy as np
import pytest

from jaxhands.configs import load_config
from jaxhands.inference import (ImagePosePredictor, hand_crop_box, plot_crop_and_skeleton,
                                plot_image_skeleton_rows)


@pytest.fixture(scope="module")
def predictor():
    config = load_config("default", dict(
        pairs=("rgb->kp3d", "rgb->rgb"), latent_dim=8, beta=1e-4, schedule="joint", image_size=16,
        resnet_depth=18, resnet_width=4, mlp_width=16, mlp_layers=2, image_decoder_channels=16))
    return ImagePosePredictor.untrained(config)


def test_predict_3d_from_a_full_image_with_a_crop_box(predictor, tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (60, 80, 3)).astype(np.uint8)
    box = hand_crop_box(image.shape[:2], keypoints_2d=rng.uniform(20, 50, (21, 2)))
    joints = predictor.predict_3d(image, crop_box=box, hand_side=1)
    assert joints.shape == (21, 3) and np.all(np.isfinite(joints))
    # The crop of the box is the model's input: predicting from it directly gives the same joints.
    crop = predictor.crop(image, box)
    np.testing.assert_allclose(predictor.predict_3d(crop, hand_side=1), joints, rtol=1e-5, atol=1e-6)
    scaled = predictor.predict_3d(image, crop_box=box, hand_side=1, bone_length=0.08, root=[0.0, 0.0, 0.5])
    np.testing.assert_allclose(scaled, joints * 0.08 + np.array([0, 0, 0.5]), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="hand_side"):
        predictor.predict_3d(crop)
    with pytest.raises(ValueError, match="16x16"):
        predictor.predict_3d(image, hand_side=0)
    samples = predictor.posterior_samples(crop, hand_side=1, num_samples=4, seed=3)
    assert samples.shape == (4, 21, 3)
    np.testing.assert_array_equal(samples, predictor.posterior_samples(crop, hand_side=1, num_samples=4, seed=3))
    assert not np.allclose(samples[0], samples[1])
    walk = predictor.latent_walk(crop, crop[::-1], hand_side=1, num_steps=3, modalities=("kp3d", "rgb"))
    assert walk["kp3d"].shape == (3, 21, 3) and walk["rgb"].shape == (3, 16, 16, 3)
    mu, _ = predictor.encode(np.stack([crop, crop[::-1]]), hand_side=1)
    np.testing.assert_allclose(walk["kp3d"][0], predictor.decode(mu[:1])[0], rtol=1e-5, atol=1e-6)
    first = plot_crop_and_skeleton(crop, joints, tmp_path / "crop.png", title="untrained")
    rows = plot_image_skeleton_rows(walk["rgb"], walk["kp3d"], tmp_path / "walk.png")
    assert first.stat().st_size > 1000 and rows.stat().st_size > 1000


def test_training_box_is_the_pipeline_crop_box():
    """The box a user gets equals the one training and evaluation cropped with."""
    from jaxhands.configs.spurr18 import image_cross_modal_config
    from jaxhands.data.hand_crop import crop_hand
    from jaxhands.synthetic import generate_sample
    from jaxhands.training.experiment import hand_crop_config

    sample = generate_sample(5, seed=1, image_size=96, num_points=16)
    for modality in ("rgb", "depth"):
        config = image_cross_modal_config(modality, 1, image_size=16)
        config.resnet_width, config.mlp_width, config.mlp_layers, config.latent_dim = 4, 16, 2, 8
        user = ImagePosePredictor.untrained(config)
        box = user.training_box((96, 96), keypoints_2d=sample["keypoints_2d"], visible=sample["visible"],
                                depth=sample["depth"], intrinsics=sample["intrinsics"])
        expected = crop_hand(sample, hand_crop_config(config))
        if modality == "rgb":
            np.testing.assert_array_equal(user.crop(sample["image"], box), expected["image"])
        else:  # the pipeline also clears depths outside the cube
            kept = expected["depth"] > 0
            assert kept.any()
            np.testing.assert_array_equal(user.crop(sample["depth"], box)[kept], expected["depth"][kept])
        # The crop box maps the 2D keypoints exactly as the pipeline's crop did.
        from jaxhands.data.cropping import full_to_crop
        np.testing.assert_allclose(full_to_crop(sample["keypoints_2d"], box, 16), expected["keypoints_2d"], atol=1e-4)
    with pytest.raises(ValueError, match="depth map"):
        user.training_box((96, 96), keypoints_2d=sample["keypoints_2d"])


def test_readme_own_photo_script_runs_as_written(shared_data, tmp_path, monkeypatch):
    """The README's own-photo example as written (its trained RGB run swapped for an
    untrained predictor of an RGB crop config: from_workdir is load_run, tested with the
    runs): a real RHD photo, its labelled keypoints, the training crop box around them,
    3D joints and the picture."""
    import pathlib
    import re

    from jaxhands.configs.spurr18 import image_cross_modal_config

    config = image_cross_modal_config("rgb", 3, image_size=16)
    config.resnet_width, config.mlp_width, config.mlp_layers, config.latent_dim = 4, 16, 2, 8
    config.image_decoder_channels = 16
    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    script = re.search(r"<!-- own-photo script -->\n```python\n(.*?)```", readme, re.S).group(1)
    call = 'ImagePosePredictor.from_workdir("workdirs/spurr18_rgb_to_3d_var3")'
    assert call in script
    monkeypatch.setenv("JAXHANDS_SHARED_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)
    scope = {"untrained_rgb": ImagePosePredictor.untrained(config)}
    exec(compile(script.replace(call, "untrained_rgb"), "README.md", "exec"), scope)
    assert scope["joints"].shape == (21, 3) and np.all(np.isfinite(scope["joints"]))
    assert scope["image"].shape == (320, 320, 3)
    box = scope["box"]  # the hand3d box around the labelled keypoints: every one inside it
    kp = scope["keypoints_2d"]
    assert np.all((kp[:, 0] >= box.u0) & (kp[:, 0] <= box.u0 + box.width))
    assert np.all((kp[:, 1] >= box.v0) & (kp[:, 1] <= box.v0 + box.height))
    assert (tmp_path / "my_hand.png").stat().st_size > 1000
