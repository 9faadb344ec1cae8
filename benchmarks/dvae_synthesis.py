"""Yang & Yao 2019 synthesis dVAE, check D7 of the spec: pose transfer against the
generator's ground truth.

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/dvae_synthesis.py \
        [--seeds 0 1] [--set KEY=VALUE ...] [--pairs 500] [--workdir DIR] [--out docs/results/dvae_synthesis.json]

Trains `yangyao19_dvae_synthesis` (both stages of Alg. 1; --set overrides, e.g.
num_train_steps=...) unless --reuse finds the final checkpoint, then, for --pairs random
test pairs (A, B) with different contents and crops inside the image (no padding, see
`padded`), decodes [z_pose(A), z_content(B)] - from the pose and tag encoders
("labels") and from the image encoder ("images") - and compares it with the truth:
sample A's hand rendered on B's content by the generator
(jaxhands.synthetic.generator.generate_transfer), cut with A's crop box, so pixel for
pixel what the decoder should draw. D7 asks, per path:
- the pixel MSE to the truth below the MSE to image A and to image B in >= 80 % of pairs;
- the median colour of the image border nearer B's background than A's in >= 90 %.
Beside them: the same numbers for the untrained model, the reconstruction MSE of
A itself (decode of A's own factors) against image A, and the pose factor as a pose
estimator (Dp of the image's z_p on every test crop, jaxhands.evaluate_workdir) beside the
mean training pose.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np


def test_images(config) -> dict:
    """The test split through the eval pipeline (crop, no augmentation): image, tag_image,
    keypoints_3d, hand_side, and each record's generator index (test records follow the
    num_train training ones) and content id (index % K)."""
    from jaxhands.training.experiment import build_experiment

    rows = {k: [] for k in ("image", "tag_image", "keypoints_3d", "hand_side", "record_index")}
    for batch in build_experiment(config, extra_fields=("tag_image",)).eval_batches():
        valid = np.asarray(batch["valid"])
        for k in rows:
            rows[k].append(np.asarray(batch[k])[valid])
    out = {k: np.concatenate(v) for k, v in rows.items()}
    out["index"] = config.synthetic_num_train + out.pop("record_index").astype(np.int64)
    out["content_id"] = out["index"] % config.synthetic_num_backgrounds
    return out


def transfer_truth(config, pose_index: int, content_index: int) -> np.ndarray:
    """Generator sample `pose_index`'s hand on `content_index`'s content, cut as A's record
    is: float [S, S, 3] in [-0.5, 0.5]."""
    from jaxhands.data.hand_crop import crop_hand
    from jaxhands.synthetic import SyntheticConfig
    from jaxhands.synthetic.generator import generate_transfer
    from jaxhands.training.experiment import hand_crop_config, stored_image_size

    sample = generate_transfer(pose_index, content_index, seed=config.synthetic_seed,
                               image_size=stored_image_size(config), num_points=config.num_points,
                               config=SyntheticConfig(background=config.synthetic_background,
                                                      num_backgrounds=config.synthetic_num_backgrounds))
    return np.asarray(crop_hand(sample, hand_crop_config(config))["image"], np.float32) / 255.0 - 0.5


def padded(tag_images) -> np.ndarray:
    """[N] bool: the crop box left the image, so the crop holds black padding. Padding is
    where the crop box is, not what the content is: a tag image cut with B's box carries
    B's padding, which A's pose cannot predict (the truth has A's), so D7 takes pairs
    whose crops both lie inside the image. A plain background is never exact black."""
    return (np.asarray(tag_images) == 0).all(-1).any((1, 2))


def transfer_pairs(test: dict, num_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Up to num_pairs random test pairs (A, B) with different contents whose crops both lie
    inside the image (`padded`): index arrays into the test split."""
    a, b = rng.integers(0, len(test["index"]), (2, 8 * num_pairs))
    inside = ~padded(test["tag_image"])
    keep = (test["content_id"][a] != test["content_id"][b]) & inside[a] & inside[b]
    return a[keep][:num_pairs], b[keep][:num_pairs]


def border_colour(images) -> np.ndarray:
    """Median colour of each image's one-pixel border: [N, S, S, 3] -> [N, 3]."""
    images = np.asarray(images)
    border = np.concatenate([images[:, 0], images[:, -1], images[:, 1:-1, 0], images[:, 1:-1, -1]], axis=1)
    return np.median(border, axis=1)


def evaluate(run, test: dict, a: np.ndarray, b: np.ndarray, truth: np.ndarray) -> dict:
    import jax.numpy as jnp

    take = lambda idx: {k: jnp.asarray(v[idx]) for k, v in test.items()  # noqa: E731
                        if k not in ("index", "content_id")}
    image = test["image"].astype(np.float32) / 255.0 - 0.5
    tag = test["tag_image"].astype(np.float32) / 255.0 - 0.5
    out = {}
    for source, name in (("labels", "from_labels"), ("rgb", "from_images")):
        decoded = []
        for start in range(0, len(a), 50):
            rows_a, rows_b = a[start:start + 50], b[start:start + 50]
            decoded.append(np.asarray(run.method.transfer(run.params, run.model_state, take(rows_a), take(rows_b),
                                                          source=source)))
        decoded = np.concatenate(decoded)
        mse = lambda target: ((decoded - target) ** 2).mean(axis=(1, 2, 3))  # noqa: E731
        to_truth, to_a, to_b = mse(truth), mse(image[a]), mse(image[b])
        colour = border_colour(decoded)
        nearer_b = (np.linalg.norm(colour - border_colour(tag[b]), axis=-1)
                    < np.linalg.norm(colour - border_colour(tag[a]), axis=-1))
        out[name] = {"mse_to_truth": float(to_truth.mean()), "mse_to_pose_source": float(to_a.mean()),
                     "mse_to_content_source": float(to_b.mean()),
                     "truth_nearest_fraction": float(((to_truth < to_a) & (to_truth < to_b)).mean()),
                     "border_nearer_content_source_fraction": float(nearer_b.mean())}
    own = []
    for start in range(0, len(a), 50):
        rows = a[start:start + 50]
        own.append(np.asarray(run.method.transfer(run.params, run.model_state, take(rows), take(rows))))
    out["reconstruction_mse"] = float(((np.concatenate(own) - image[a]) ** 2).mean())
    return out


def transfer_figure(run, test: dict, a: np.ndarray, b: np.ndarray, truth: np.ndarray, path: pathlib.Path):
    import jax.numpy as jnp

    from jaxhands.evaluation.plots import plot_depth_rows

    take = lambda idx: {k: jnp.asarray(v[idx]) for k, v in test.items()  # noqa: E731
                        if k not in ("index", "content_id")}
    image = test["image"].astype(np.float32) / 255.0 - 0.5
    decodes = [np.asarray(run.method.transfer(run.params, run.model_state, take(a), take(b), source=source))
               for source in ("labels", "rgb")]
    plot_depth_rows([image[a], image[b], truth, *decodes], path,
                    row_titles=["A (pose)", "B (content)", "truth: A on B", "from pose + tag", "from image"],
                    title="Yang & Yao synthesis dVAE: A's hand on B's content")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--reuse", action="store_true", help="evaluate workdirs that hold the final checkpoint")
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("workdirs/dvae_synthesis"))
    parser.add_argument("--out", type=pathlib.Path, default=None)
    parser.add_argument("--figure", type=pathlib.Path, default=None,
                        help="PNG of the first seed's first 8 pairs: A, B, the truth, both decodes")
    args = parser.parse_args()

    import jaxhands
    from jaxhands.baselines import evaluate_mean_pose
    from jaxhands.training.loop import train

    rows = []
    for seed in args.seeds:
        config = jaxhands.load_config("yangyao19_dvae_synthesis", [f"seed={seed}", *args.set])
        workdir = args.workdir / f"seed{seed}"
        start = time.perf_counter()
        if not (args.reuse and (workdir / "checkpoints" / str(config.num_train_steps)).exists()):
            train(config, workdir, progress=False)
        seconds = time.perf_counter() - start
        test = test_images(config)
        n = len(test["index"])
        inside = ~padded(test["tag_image"])
        a, b = transfer_pairs(test, args.pairs, np.random.default_rng(seed))
        truth = np.stack([transfer_truth(config, int(test["index"][i]), int(test["index"][j])) for i, j in zip(a, b)])
        row = {"seed": seed, "overrides": list(args.set), "train_seconds": seconds, "num_pairs": int(len(a)),
               "test_crops_inside_image": int(inside.sum()), "num_test": int(n),
               "num_train_steps": config.num_train_steps, "image_size": config.image_size,
               "num_backgrounds": config.synthetic_num_backgrounds,
               "trained": evaluate(jaxhands.load_run(workdir), test, a, b, truth),
               "untrained": evaluate(jaxhands.load_run(workdir, untrained=True), test, a, b, truth)}
        # The pose factor as a pose estimator: Dp(mu_p) from the image (evaluate_workdir, all
        # 500 test crops) beside the mean training pose.
        scores = jaxhands.evaluate_workdir(workdir, write=False)
        row["pose_from_images"] = {k: scores[k] for k in ("mean_epe_mm", "pa_mean_epe_mm", "auc_20_50",
                                                          "spread_ratio")}
        row["mean_pose_epe_mm"] = evaluate_mean_pose(config)["mean_epe_mm"]
        if args.figure and seed == args.seeds[0]:
            transfer_figure(jaxhands.load_run(workdir), test, a[:8], b[:8], truth[:8], args.figure)
        print(f"seed {seed}: {json.dumps(row['trained'])}\n  untrained: {json.dumps(row['untrained'])}", flush=True)
        rows.append(row)
        if args.out:
            args.out.write_text(json.dumps({"command": " ".join(["python"] + sys.argv), "rows": rows}, indent=2)
                                + "\n")


if __name__ == "__main__":
    main()
