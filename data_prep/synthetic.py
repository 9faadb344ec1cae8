"""`python -m data_prep synthetic`: the synthetic hand dataset (jaxhands.synthetic).

Sample i is `jaxhands.synthetic.generate_sample(i, seed=..., image_size=..., num_points=...)`;
train holds indices [0, N), test [N, N + M). See jaxhands/data/synthetic_builder.py.
"""

from __future__ import annotations

import argparse

from jaxhands.data.argument_types import int_at_least, non_negative_int, positive_int
from jaxhands.synthetic.config import HAND_SHAPES
from jaxhands.synthetic.generator import MIN_IMAGE_SIZE

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--num-train", type=positive_int, required=True, help="train samples (indices 0..N-1)")
    parser.add_argument("--num-test", type=non_negative_int, required=True,
                        help="test samples (indices N..N+M-1); 0 writes no test split")
    parser.add_argument("--image-size", type=int_at_least(MIN_IMAGE_SIZE), required=True,
                        help=f"square image side in pixels (>= {MIN_IMAGE_SIZE})")
    parser.add_argument("--num-points", type=positive_int, default=256, help="surface points per sample")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="generator seed")
    parser.add_argument("--background", choices=("textured", "plain"), default="textured",
                        help="image backgrounds: textured clutter (default) or one plain colour per image")
    parser.add_argument("--num-backgrounds", type=non_negative_int, default=0,
                        help="K > 0: K shared contents (background, skin, light), stored with content_id and "
                             "tag_image (Yang & Yao's synthesis); 0 (default): every image its own")
    parser.add_argument("--hand-shapes", choices=HAND_SHAPES, default="stb",
                        help="skeletons: around STB's (default) or anthropometric (every bone ratio uniform within "
                             "the published limits; see jaxhands.synthetic.config.SyntheticConfig)")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="generation processes (default: all CPUs for >= 64 samples)")


def prepare(args: argparse.Namespace):
    import tensorflow_datasets as tfds

    from jaxhands.data.synthetic_builder import build_synthetic_dataset

    # The builder shows its own progress bar with totals; TFDS's extra bars only add noise.
    tfds.disable_progress_bar()
    return build_synthetic_dataset(
        args.out, image_size=args.image_size, num_points=args.num_points, seed=args.seed,
        num_train=args.num_train, num_test=args.num_test, workers=args.workers, overwrite=args.overwrite,
        background=args.background, num_backgrounds=args.num_backgrounds, hand_shapes=args.hand_shapes)
