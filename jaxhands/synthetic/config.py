"""Knobs of the synthetic hand generator (all have documented defaults)."""

from __future__ import annotations

import dataclasses


BACKGROUNDS = ("textured", "plain")
HAND_SHAPES = ("stb", "anthropometric")


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    """Distribution of the synthetic hands, cameras and images.

    Hand shape
      hand_shapes: "stb" (default; the generator of every result so far): bone-length
        ratios log-normal around STB's single fitted skeleton (bone_length_sigma,
        bone_length_max_deviation). "anthropometric": each bone's ratio to the wrist ->
        middle-MCP bone drawn uniformly and independently between the published limits
        hand_model.BONE_RATIO_MIN / MAX: the union of Spurr et al. 2020's
        biomechanical limits (measured on RHD + GANerated hands, "Weakly supervised 3D
        hand pose estimation via biomechanical constraints", ECCV) and STB's ratios
        +/- 15 %. The range spans the joint conventions of real datasets (wrist ->
        thumb base 0.22-0.62, STB 0.26; middle MCP -> PIP 0.28-0.68, STB 0.53), which a
        model trained on the "stb" hands never sees. Uniform, not a fitted density:
        it covers the hands, it does not claim their frequencies.
      hand_scale_range_m: wrist -> middle-MCP length in metres, uniform. STB's skeleton
        is 0.076; adult hands are about 0.075-0.10.
      bone_length_sigma: log-normal spread of each bone's length ratio around the STB
        mean ratio (hand_model.BONE_RATIO_MIN/MAX bound it).
      bone_length_max_deviation: per-bone ratios are clipped to STB mean * (1 +/- this).
      palm_jitter_deg: std of the in-plane angle of each palm bone (not the middle one)
        around STB's palm.
      thickness_range: multiplier of every surface radius, uniform.

    Pose
      pose_noise_deg: std of the Gaussian noise added to a blend of two key poses.
      abduction_noise_deg: std of that noise for the finger abductions.
      random_pose_probability: fraction of poses drawn uniformly within the joint limits
        (DIP loosely coupled to PIP) instead of from the key poses.
      left_hand_probability: fraction of left hands (mirror images of right hands).

    Camera
      depth_range_m: depth (z) of the hand's bounding-box centre, uniform.
      image_fill_range: the longer side of the hand's projected bounding box as a
        fraction of the image side, uniform; the focal length follows from it.
      max_offscreen: how far the hand's projected bounding box may extend past the image
        border, as a fraction of the box side ("fully or mostly in view").

    Appearance
      background: "textured" (smooth random colour fields, blobs and stripes: clutter a
        network must learn to ignore) or "plain" (one random colour per image, plus the
        pixel noise: hands as on a green screen; the CPU-sized RGB experiments use it,
        see jaxhands/configs/spurr18.py).
      num_backgrounds: K > 0 shares K contents (background, skin colour, light; drawn
        from (seed, content_id)) between the images: sample i shows content i % K and
        stores `content_id` and `tag_image` (its background alone), and any pose can be
        drawn on any content (generator.generate_transfer), the ground truth of Yang &
        Yao's synthesis checks. 0 (default): every image draws its own content.
      pixel_noise_std_range: std of the Gaussian pixel noise (0-255 levels), uniform.
      visibility_margin_m: extra tolerance (beyond the joint's surface radius) of the
        z-buffer visibility test of the keypoints.
    """

    hand_shapes: str = "stb"
    hand_scale_range_m: tuple[float, float] = (0.075, 0.10)
    bone_length_sigma: float = 0.05
    bone_length_max_deviation: float = 0.15
    palm_jitter_deg: float = 2.0
    thickness_range: tuple[float, float] = (0.9, 1.1)
    pose_noise_deg: float = 8.0
    abduction_noise_deg: float = 4.0
    random_pose_probability: float = 0.15
    left_hand_probability: float = 0.5
    depth_range_m: tuple[float, float] = (0.3, 0.7)
    image_fill_range: tuple[float, float] = (0.4, 0.8)
    max_offscreen: float = 0.1
    pixel_noise_std_range: tuple[float, float] = (1.0, 6.0)
    background: str = "textured"
    num_backgrounds: int = 0
    visibility_margin_m: float = 0.001

    def __post_init__(self):
        if self.background not in BACKGROUNDS:
            raise ValueError(f"SyntheticConfig.background: expected one of {BACKGROUNDS}, got {self.background!r}")
        if self.hand_shapes not in HAND_SHAPES:
            raise ValueError(f"SyntheticConfig.hand_shapes: expected one of {HAND_SHAPES}, got {self.hand_shapes!r}")
        if not isinstance(self.num_backgrounds, int) or isinstance(self.num_backgrounds, bool) \
                or self.num_backgrounds < 0:
            raise ValueError(f"SyntheticConfig.num_backgrounds: expected an integer >= 0, got {self.num_backgrounds!r}")
        for name in ("hand_scale_range_m", "thickness_range", "depth_range_m", "image_fill_range",
                     "pixel_noise_std_range"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"SyntheticConfig.{name}: expected 0 <= low <= high, got {(low, high)}")
        if self.hand_scale_range_m[0] <= 0 or self.thickness_range[0] <= 0:
            raise ValueError("SyntheticConfig: hand_scale_range_m and thickness_range must be positive")
        if self.depth_range_m[0] < 0.2:
            raise ValueError(
                f"SyntheticConfig.depth_range_m: the nearest hand depth must be >= 0.2 m so that the "
                f"whole hand stays in front of the camera, got {self.depth_range_m}")
        if not (0 < self.image_fill_range[0] and self.image_fill_range[1] <= 1):
            raise ValueError(f"SyntheticConfig.image_fill_range: expected within (0, 1], got {self.image_fill_range}")
        for name in ("random_pose_probability", "left_hand_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"SyntheticConfig.{name}: expected a probability in [0, 1], got {getattr(self, name)}")
        if not 0 <= self.bone_length_max_deviation < 1:
            raise ValueError(
                f"SyntheticConfig.bone_length_max_deviation: expected in [0, 1), got {self.bone_length_max_deviation}")
        for name in ("bone_length_sigma", "palm_jitter_deg", "pose_noise_deg", "abduction_noise_deg",
                     "max_offscreen", "visibility_margin_m"):
            if getattr(self, name) < 0:
                raise ValueError(f"SyntheticConfig.{name}: expected >= 0, got {getattr(self, name)}")
