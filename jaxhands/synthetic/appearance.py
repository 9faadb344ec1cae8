"""Colours of a synthetic sample: textured background, shaded skin, pixel noise (numpy).

An image is its `Content` (background, skin colour, light: everything but the hand's
geometry) with the hand shaded on top, plus per-image pixel noise. Yang & Yao's image
dVAE separates exactly these two factors; the generator can share one content between
images (SyntheticConfig.num_backgrounds) and draw any pose on any content.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# Skin tones from light to dark (RGB); a sample's tone is a random point on this ramp,
# tinted per channel by up to +/- 8 %.
SKIN_TONES = np.array([
    [241.0, 200.0, 175.0], [226.0, 175.0, 140.0], [198.0, 138.0, 98.0],
    [163.0, 106.0, 70.0], [122.0, 78.0, 52.0], [84.0, 54.0, 38.0]])


def skin_colour(rng: np.random.Generator) -> np.ndarray:
    """One skin colour [3] (0-255 floats)."""
    position = rng.uniform(0.0, len(SKIN_TONES) - 1)
    low = int(position)
    high = min(low + 1, len(SKIN_TONES) - 1)
    base = SKIN_TONES[low] + (position - low) * (SKIN_TONES[high] - SKIN_TONES[low])
    return base * rng.uniform(0.92, 1.08, 3)


def _linear_weights(size: int, knots: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of `size` pixels from `knots` evenly spaced values.

    Knot a sits at pixel coordinate a * size / (knots - 1) (first and last knots on the
    image borders); returns each pixel's left knot [size] and its weight [size].
    """
    position = (np.arange(size, dtype=np.float32) + 0.5) * np.float32((knots - 1) / size)
    left = np.minimum(position.astype(np.int64), knots - 2)
    return left, (position - left).astype(np.float32)


def _resample(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear upsampling of a knot grid [a, b, C] to [height, width, C].

    Done with gathers rather than interpolation-matrix products: small BLAS calls with
    OpenBLAS threads are far slower than this on a busy machine.
    """
    left, weight = _linear_weights(width, values.shape[1])
    along = np.take(values, left, axis=1)
    along += weight[None, :, None] * (np.take(values, left + 1, axis=1) - along)
    top, weight = _linear_weights(height, values.shape[0])
    # np.take, not fancy indexing: several times faster for these row gathers.
    out = np.take(along, top, axis=0)
    step = np.take(along[1:] - along[:-1], top, axis=0)
    step *= weight[:, None, None]
    out += step
    return out


_SMOOTH_KNOTS = 32


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Random textured background [H, W, 3] float32 in 0-255.

    A smooth field (value noise of random colours, bilinear from a 2-6 knot grid, with
    0-4 soft Gaussian blobs of random colours on top) evaluated on a 32 x 32 knot grid
    and upsampled bilinearly, then, for half of the images, stripes of a random colour,
    period, angle and sharpness at full resolution.
    """
    knots = int(rng.integers(2, 7))
    grid = rng.uniform(0.0, 255.0, (knots, knots, 3)).astype(np.float32)
    smooth = min(_SMOOTH_KNOTS, height, width)
    field = _resample(grid, smooth, smooth)  # [smooth, smooth, 3]
    # Knot a of the smooth grid sits at pixel coordinate a * size / (smooth - 1) (see
    # _linear_weights), where the blobs are evaluated.
    knot_v = (np.arange(smooth, dtype=np.float32) * np.float32(height / (smooth - 1)))[:, None]
    knot_u = (np.arange(smooth, dtype=np.float32) * np.float32(width / (smooth - 1)))[None, :]
    size = max(height, width)
    for _ in range(int(rng.integers(0, 5))):
        centre_u, centre_v = rng.uniform(0.0, 1.0, 2) * (width, height)
        scale = np.float32(-0.5 / (rng.uniform(0.05, 0.3) * size) ** 2)
        weight = np.exp(scale * (knot_v - np.float32(centre_v)) ** 2) * np.exp(
            scale * (knot_u - np.float32(centre_u)) ** 2) * np.float32(rng.uniform(0.4, 1.0))
        field += weight[..., None] * (rng.uniform(0.0, 255.0, 3).astype(np.float32) - field)
    image = _resample(field, height, width)
    if rng.uniform() < 0.5:
        u = (np.arange(width, dtype=np.float32) + 0.5)[None, :]
        v = (np.arange(height, dtype=np.float32) + 0.5)[:, None]
        angle = rng.uniform(0.0, np.pi)
        period = rng.uniform(4.0, max(8.0, 0.5 * size))
        phase = rng.uniform(0.0, 2 * np.pi)
        sharpness = rng.uniform(1.0, 6.0)
        frequency = np.float32(2 * np.pi / period)
        wave = np.sin(frequency * (np.float32(np.cos(angle)) * u + np.float32(np.sin(angle)) * v) + np.float32(phase))
        alpha = np.float32(rng.uniform(0.3, 0.9)) * np.clip(0.5 + np.float32(0.5 * sharpness) * wave, 0.0, 1.0)
        change = rng.uniform(0.0, 255.0, 3).astype(np.float32) - image
        change *= alpha[..., None]
        image += change
    return image


def light_direction(rng: np.random.Generator) -> np.ndarray:
    """Unit vector [3] from the surface towards a directional light on the camera's side."""
    direction = np.array([rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0), -1.0])
    return direction / np.linalg.norm(direction)


def shade_skin(normals: np.ndarray, colour: np.ndarray, light: np.ndarray, ambient: float,
               diffuse: float) -> np.ndarray:
    """Lambertian skin colour [N, 3] for outward normals [N, 3]: colour (ambient + diffuse n.l)+."""
    lambert = np.maximum(normals[:, 0] * light[0] + normals[:, 1] * light[1] + normals[:, 2] * light[2], 0.0)
    return (ambient + diffuse * lambert)[:, None] * colour[None]


# Std of the sum of two independent uniform bytes (0..255): sqrt(2 (256^2 - 1) / 12).
_TWO_BYTES_STD = float(np.sqrt(2 * (256 ** 2 - 1) / 12))


def unit_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Zero-mean, unit-std noise [shape] float32 with a triangular (bell-like) density.

    The sum of two random bytes: 10x cheaper than Gaussian draws, and pixel noise does
    not need Gaussian tails.
    """
    size = int(np.prod(shape))
    pairs = np.frombuffer(rng.bytes(2 * size), np.uint8).reshape(2, size)
    total = pairs[0].astype(np.float32) + pairs[1]
    return ((total - np.float32(255.0)) * np.float32(1.0 / _TWO_BYTES_STD)).reshape(shape)


def plain_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """One random colour [H, W, 3] float32 in 0-255."""
    return np.broadcast_to(rng.uniform(0.0, 255.0, 3).astype(np.float32), (height, width, 3)).copy()


@dataclasses.dataclass(frozen=True)
class Content:
    """What an image shows besides the hand's geometry."""

    background: np.ndarray  # [H, W, 3] float32, 0-255
    skin: np.ndarray        # [3] skin colour, 0-255
    light: np.ndarray       # [3] unit direction towards the light
    ambient: float
    diffuse: float

    def tag_image(self) -> np.ndarray:
        """The background alone, uint8 [H, W, 3] (Yang & Yao's "tag image")."""
        return np.clip(np.rint(self.background), 0, 255).astype(np.uint8)


def draw_content(rng: np.random.Generator, height: int, width: int, background_kind: str = "textured") -> Content:
    """A random content: background ("textured" or "plain"), skin colour and light."""
    if background_kind == "textured":
        image = background(rng, height, width)
    elif background_kind == "plain":
        image = plain_background(rng, height, width)
    else:
        raise ValueError(f"compose_image: background_kind must be 'textured' or 'plain', got {background_kind!r}")
    colour = skin_colour(rng)
    light = light_direction(rng)
    ambient, diffuse = rng.uniform(0.25, 0.5), rng.uniform(0.5, 0.8)
    return Content(image, colour, light, float(ambient), float(diffuse))


def compose_image(rng: np.random.Generator, height: int, width: int, hand_pixels: np.ndarray,
                  hand_normals: np.ndarray, pixel_noise_std_range: tuple[float, float],
                  background_kind: str = "textured", content: Content | None = None) -> np.ndarray:
    """RGB uint8 [H, W, 3]: shaded skin at `hand_pixels` (flat row-major indices [M],
    outward normals [M, 3]) over the background of `content` (default: a random one
    drawn from `rng`, "textured" or "plain"), plus pixel noise drawn from `rng`."""
    if content is None:
        content = draw_content(rng, height, width, background_kind)
    if content.background.shape != (height, width, 3):
        raise ValueError(f"compose_image: content background {content.background.shape} does not match the "
                         f"image {(height, width, 3)}")
    image = content.background.copy()
    image.reshape(-1, 3)[hand_pixels] = shade_skin(hand_normals, content.skin, content.light, content.ambient,
                                                   content.diffuse)
    noise = unit_noise(rng, image.shape)
    noise *= np.float32(rng.uniform(*pixel_noise_std_range))
    image += noise
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
