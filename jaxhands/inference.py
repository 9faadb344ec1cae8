"""The image path at test time: crop around the hand, normalise, infer 3D joints, draw.

    predictor = ImagePosePredictor.from_workdir("workdirs/spurr18_rgb_to_3d_var3")
    box = predictor.training_box(image.shape[:2], keypoints_2d=kp)  # the box training used
    joints = predictor.predict_3d(image, crop_box=box, hand_side=1)  # [21, 3]
    plot_crop_and_skeleton(predictor.crop(image, box), joints, "out.png")

The box decides the accuracy. The image configs train and evaluate on the papers'
crop (config.hand_crop, jaxhands.data.hand_crop): RGB, hand3d's square centred on
the middle-finger MCP holding every 2D keypoint, times `margin`; depth, the image of
a 0.3 m cube around the hand's depth centre of mass. `training_box` rebuilds exactly
that box: from 2D keypoints (a 2D keypoint detector's, or annotations) for RGB, from
the depth map and intrinsics alone for depth. Without keypoints, `hand_crop_box`
makes a square around a detector's hand mask or box (`fill` = the fraction of the
side the hand spans); a box off by 10-20 % of its side in centre and size costs
accuracy: README, "Image -> pose", measures how much (eval.py --box_jitter). The cross-modal VAE
predicts the pose without its translation and scale (T and S invariances): the
result is root-relative and in units of the reference bone (wrist -> middle MCP)
unless a bone length (metres) and a root position are given.
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxhands.data.cropping import CropBox, crop_bilinear, crop_nearest, crop_to_full
from jaxhands.data.schema import shape_batch
from jaxhands.evaluation.skeleton_drawing import (axis_half_range, draw_skeleton_3d, frame_axes_3d, new_figure,
                                                  save_figure, to_plot_frame)
from jaxhands.geometry.layouts import NUM_JOINTS

DEFAULT_FILL = 0.6


def hand_crop_box(image_hw: tuple[int, int], *, keypoints_2d=None, mask=None, fill: float = DEFAULT_FILL) -> CropBox:
    """A square box around the hand whose bounding box fills `fill` of the box side.

    keypoints_2d: [J, 2] full-image (u, v) pixels (non-finite rows ignored), or mask:
    [H, W] nonzero on the hand (pixel (i, j) spans [j, j+1) x [i, i+1)). The box is
    centred on the hand's bounding box and may extend past the image (cropping pads with 0).
    """
    if (keypoints_2d is None) == (mask is None):
        raise ValueError("hand_crop_box: give exactly one of keypoints_2d and mask")
    if not 0 < fill <= 1:
        raise ValueError(f"hand_crop_box: fill must be in (0, 1], got {fill}")
    if keypoints_2d is not None:
        points = np.asarray(keypoints_2d, np.float64)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"hand_crop_box: keypoints_2d must be [J, 2], got shape {points.shape}")
        points = points[np.all(np.isfinite(points), axis=1)]
        if points.shape[0] == 0:
            raise ValueError("hand_crop_box: no finite keypoint")
        low, high = points.min(axis=0), points.max(axis=0)
    else:
        mask = np.asarray(mask)
        if mask.shape != tuple(image_hw):
            raise ValueError(f"hand_crop_box: mask shape {mask.shape} differs from the image's {tuple(image_hw)}")
        rows, cols = np.nonzero(mask)
        if rows.size == 0:
            raise ValueError("hand_crop_box: the mask is empty")
        low = np.array([cols.min(), rows.min()], np.float64)
        high = np.array([cols.max() + 1, rows.max() + 1], np.float64)
    side = max(float(np.max(high - low)) / fill, 1.0)
    centre = (low + high) / 2
    return CropBox.centred(centre[0], centre[1], side, side)


def crop_image(image, box: CropBox, size: int) -> np.ndarray:
    """The box resampled to size x size: uint8 RGB [H, W, 3] (bilinear) or depth [H, W] (nearest)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 3 and image.dtype == np.uint8:
        return crop_bilinear(image, box, size)
    if image.ndim == 2:
        return crop_nearest(image, box, size)
    raise ValueError(f"crop_image: expected uint8 [H, W, 3] RGB or [H, W] depth, got {image.dtype} {image.shape}")


def crop_keypoints_to_full(keypoints_crop, box: CropBox, size: int) -> np.ndarray:
    """[..., 2] (u, v) in a size x size crop of `box` -> full-image pixels (exact inverse of the crop)."""
    return crop_to_full(keypoints_crop, box, size)


def dummy_batch(config, batch_size: int = 1) -> dict:
    """A batch of the config's shapes (jaxhands.data.schema.shape_batch)."""
    return shape_batch(config.image_size, config.num_points, batch_size)


class ImagePosePredictor:
    """A trained image -> 3D cross-modal VAE (config, params, model_state) for single images."""

    def __init__(self, config: ml_collections.ConfigDict, params: dict, model_state: dict):
        from jaxhands.methods.registry import build_method

        self.config = config
        self.method = build_method(config)
        self.modality = self.method.predict_from
        if self.modality not in ("rgb", "depth"):
            raise ValueError(f"ImagePosePredictor needs an image encoder (rgb or depth); the model encodes "
                             f"{self.modality!r} at test time")
        self.params, self.model_state = params, model_state
        self._encode = jax.jit(self._encode_impl)
        self._decode = jax.jit(self._decode_impl, static_argnums=0)

    @classmethod
    def from_workdir(cls, workdir, step: int | None = None) -> "ImagePosePredictor":
        """Restores the latest (or `step`) checkpoint of a `train.py` workdir (jaxhands.load_run)."""
        from jaxhands.runs import load_run

        run = load_run(workdir, step)
        return cls(run.config, run.params, run.model_state)

    @classmethod
    def untrained(cls, config: ml_collections.ConfigDict, seed: int = 0) -> "ImagePosePredictor":
        from jaxhands.methods.registry import build_method

        params, model_state = build_method(config).init(jax.random.key(seed), dummy_batch(config))
        return cls(config, params, model_state)

    def training_box(self, image_hw: tuple[int, int], *, keypoints_2d=None, visible=None, depth=None,
                     intrinsics=None) -> CropBox:
        """The crop box training and evaluation used for this image (config.hand_crop).

        rgb_keypoints mode: keypoints_2d [21, 2] full-image pixels in the canonical
        layout (visible: optional [21] bool); depth_cube mode: the full depth map [H, W]
        (metres, 0 = none) and its intrinsics [3, 3]. A config without a crop trained on
        whole frames: the box is the whole image.
        """
        from jaxhands.data.hand_crop import depth_box, keypoint_box
        from jaxhands.training.experiment import hand_crop_config

        crop = hand_crop_config(self.config)
        height, width = (int(n) for n in image_hw)
        if not crop.enabled:
            return CropBox(0.0, 0.0, float(width), float(height))
        if crop.mode == "rgb_keypoints":
            if keypoints_2d is None:
                raise ValueError("training_box: this model was trained on hand3d keypoint crops; give keypoints_2d "
                                 "[21, 2] (e.g. from a 2D keypoint detector), or use hand_crop_box with a mask")
            uv = np.asarray(keypoints_2d, np.float32)
            seen = np.ones(uv.shape[0], bool) if visible is None else np.asarray(visible, bool)
            return keypoint_box(uv, seen, (width, height), crop)
        if depth is None or intrinsics is None:
            raise ValueError("training_box: this model was trained on depth-cube crops; give the depth map and "
                             "its intrinsics")
        return depth_box({"depth": np.asarray(depth, np.float32), "intrinsics": np.asarray(intrinsics)}, crop)[0]

    # -- the pieces ------------------------------------------------------------------
    def crop(self, image, box: CropBox | None) -> np.ndarray:
        """The model's input crop (uint8 RGB or metres depth); box None: the image must already be one."""
        size = self.config.image_size
        image = np.asarray(image)
        if box is None:
            if image.shape[:2] != (size, size):
                raise ValueError(f"without a crop box the image must be the model's {size}x{size} crop, "
                                 f"got {image.shape[:2]}")
            return image
        return crop_image(image, box, size)

    def _batch(self, crops, hand_side) -> dict:
        crops = np.asarray(crops)
        batch = dummy_batch(self.config, crops.shape[0])
        batch["image" if self.modality == "rgb" else "depth"] = crops
        if hand_side is not None:
            batch["hand_side"] = np.broadcast_to(np.asarray(hand_side, np.int32), (crops.shape[0],)).copy()
        return batch

    def _encode_impl(self, params, model_state, batch):
        (mu, logvar), _ = self.method.encode(params, model_state, self.modality, batch)
        return mu, logvar

    def _decode_impl(self, modality, params, model_state, z):
        return self.method.decode(params, model_state, modality, z)[0]

    def encode(self, crops, hand_side=None):
        """Posterior (mu, logvar) [B, latent] of model-sized crops [B, S, S(, 3)]."""
        if self.config.invariances.handedness and hand_side is None:
            raise ValueError("this model takes the hand side (H invariance): pass hand_side=0 (left) or 1 (right)")
        return self._encode(self.params, self.model_state, self._batch(crops, hand_side))

    def decode(self, z, modality: str = "kp3d"):
        """Decodes latents [B, latent] to `modality` in its model space (kp3d: normalised joints)."""
        return np.asarray(self._decode(modality, self.params, self.model_state, jnp.asarray(z)))

    # -- image -> 3D -------------------------------------------------------------------
    def predict_3d(self, image, crop_box: CropBox | None = None, hand_side=None, *,
                   bone_length: float | None = None, root=None) -> np.ndarray:
        """[21, 3] joints of the hand in `image` (full image + crop_box, or a model-sized crop).

        Root-relative, in units of the reference bone, from the posterior mean; given
        bone_length (metres) the joints are scaled to metres, given root ([3]) translated.
        """
        mu, _ = self.encode(self.crop(image, crop_box)[None], hand_side)
        joints = self.decode(mu)[0]
        if bone_length is not None:
            joints = joints * float(bone_length)
        if root is not None:
            joints = joints + np.asarray(root, np.float32).reshape(1, 3)
        return joints

    def posterior_samples(self, image, crop_box: CropBox | None = None, hand_side=None, *,
                          num_samples: int = 8, seed: int = 0) -> np.ndarray:
        """[num_samples, 21, 3] normalised joints decoded from z ~ q(z | image) (Spurr Fig. 11)."""
        mu, logvar = self.encode(self.crop(image, crop_box)[None], hand_side)
        eps = jax.random.normal(jax.random.key(seed), (num_samples, mu.shape[-1]))
        return self.decode(mu + jnp.exp(0.5 * logvar) * eps)

    def latent_walk(self, crop_a, crop_b, hand_side=None, *, num_steps: int = 6,
                    modalities: tuple[str, ...] = ("kp3d",)) -> dict:
        """Decodes the segment between two crops' posterior means (Spurr Fig. 6) to each modality."""
        mu, _ = self.encode(np.stack([crop_a, crop_b]), hand_side)
        t = jnp.linspace(0.0, 1.0, num_steps)[:, None]
        z = (1.0 - t) * mu[0] + t * mu[1]
        return {m: self.decode(z, m) for m in modalities}


# -- figures -------------------------------------------------------------------------------
def _image_for_display(image) -> np.ndarray:
    """uint8 RGB, float RGB in [-0.5, 0.5], metres depth or normalised depth -> something imshow draws."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    if image.ndim == 3:
        return np.clip(image + 0.5, 0.0, 1.0)
    valid = image[(image > 0) & (image < 0.5)] if image.min() >= 0 else image[image < 0.5]
    lo, hi = (float(valid.min()), float(valid.max())) if valid.size else (0.0, 1.0)
    return np.clip((image - lo) / max(hi - lo, 1e-6), 0.0, 1.0)


def plot_crop_and_skeleton(crop, joints, path, title: str | None = None, *, dpi: int = 100) -> pathlib.Path:
    """Input crop (left) beside the predicted 3D skeleton (right) -> PNG."""
    joints = np.asarray(joints, np.float64)
    if joints.shape != (NUM_JOINTS, 3):
        raise ValueError(f"joints: expected [{NUM_JOINTS}, 3], got {joints.shape}")
    figure = new_figure((8.0, 4.0), dpi)
    ax = figure.add_subplot(1, 2, 1)
    shown = _image_for_display(crop)
    ax.imshow(shown, cmap=None if shown.ndim == 3 else "gray", interpolation="nearest")
    ax.set_axis_off()
    ax.set_title("input crop")
    ax3d = figure.add_subplot(1, 2, 2, projection="3d")
    points = to_plot_frame(joints)
    draw_skeleton_3d(ax3d, points, None, "-", None)
    frame_axes_3d(ax3d, points, axis_half_range(points), (15.0, -65.0), show_ticks=False)
    ax3d.set_title("predicted 3D joints")
    if title:
        figure.suptitle(title)
    return save_figure(figure, path)


def plot_image_skeleton_rows(images, skeletons, path, title: str | None = None, *, panel: float = 2.0,
                             dpi: int = 100) -> pathlib.Path:
    """Top row: images (decoded crops); bottom row: skeletons [21, 3] (latent walks, posterior samples)."""
    skeletons = np.asarray(skeletons, np.float64)
    n = skeletons.shape[0]
    rows = 2 if images is not None else 1
    if images is not None and len(images) != n:
        raise ValueError(f"plot_image_skeleton_rows: {len(images)} images but {n} skeletons")
    figure = new_figure((panel * n, panel * rows), dpi)
    points = [to_plot_frame(s) for s in skeletons]
    half = max(axis_half_range(p) for p in points)
    for i in range(n):
        if images is not None:
            ax = figure.add_subplot(rows, n, i + 1)
            shown = _image_for_display(images[i])
            ax.imshow(shown, cmap=None if shown.ndim == 3 else "gray", interpolation="nearest")
            ax.set_axis_off()
        ax3d = figure.add_subplot(rows, n, (rows - 1) * n + i + 1, projection="3d")
        draw_skeleton_3d(ax3d, points[i], None, "-", None)
        frame_axes_3d(ax3d, points[i], half, (15.0, -65.0), show_ticks=False)
    if title:
        figure.suptitle(title)
    figure.subplots_adjust(left=0.0, right=1.0, bottom=0.0, top=0.9 if title else 1.0, wspace=0.0, hspace=0.05)
    return save_figure(figure, path)
