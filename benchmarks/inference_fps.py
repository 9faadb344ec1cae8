"""Single-image inference speed of the image -> 3D cross-modal VAE on this CPU.

    python benchmarks/inference_fps.py [--workdir DIR] [--size 64] [--width 16] [--frames 200]

One frame = crop a full 320x320 RGB image around the hand (bilinear, to the model's
size), normalise, encode (ResNet-18, eval-mode BatchNorm), decode the posterior mean to
21 3D joints, and copy them back to the host: the whole image path of
`jaxhands.inference.ImagePosePredictor.predict_3d`, batch 1. With --workdir the trained
model is used; otherwise a freshly initialised one of the given size/width (speed does
not depend on the weights). Crossing Nets (Wan et al. 2017) report 90.9 FPS on a CPU.
Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import pathlib
import time


CROSSING_NETS_CPU_FPS = 90.9


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=pathlib.Path, default=None)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    import numpy as np

    from jaxhands.configs.spurr18 import image_cross_modal_config
    from jaxhands.inference import ImagePosePredictor, hand_crop_box

    if args.workdir:
        predictor = ImagePosePredictor.from_workdir(args.workdir)
    else:
        config = image_cross_modal_config("rgb", 1, image_size=args.size)
        config.resnet_width = args.width
        predictor = ImagePosePredictor.untrained(config)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (320, 320, 3)).astype(np.uint8)
    box = hand_crop_box(image.shape[:2], keypoints_2d=rng.uniform(100, 220, (21, 2)))
    predictor.predict_3d(image, crop_box=box, hand_side=1)  # compile
    t0 = time.perf_counter()
    for _ in range(args.frames):
        joints = predictor.predict_3d(image, crop_box=box, hand_side=1)
    seconds = time.perf_counter() - t0
    assert joints.shape == (21, 3)
    fps = args.frames / seconds
    c = predictor.config
    print(f"image -> 3D, batch 1, {c.image_size}x{c.image_size} crop, ResNet-{c.get('resnet_depth', 18)} "
          f"width {c.get('resnet_width', 64)}: {fps:.1f} frames/s ({1000 / fps:.2f} ms/frame, crop included)")
    print(f"  Crossing Nets (CPU, published): {CROSSING_NETS_CPU_FPS} FPS -> ratio {fps / CROSSING_NETS_CPU_FPS:.2f}x")


if __name__ == "__main__":
    main()
