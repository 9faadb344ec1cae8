"""Yang & Yao 2019 synthesis dVAE with the unlabelled content z_u, check D8 of the spec:
does Alg. 2's inner loop make the decoded pose ignore z_u?

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/dvae_zu.py \
        [--seeds 0] [--set KEY=VALUE ...] [--reuse] [--workdir DIR] [--out docs/results/dvae_zu.json]

--out keeps the rows of seeds this call does not run (same overrides; another file's are refused).

For each seed trains `yangyao19_dvae_synthesis_zu` (the inner loop, T2 =
dvae_zu_inner_steps) and its ablation `yangyao19_dvae_synthesis_zu_no_inner_loop`
(T2 = 0) with the same overrides, then on the test split:
- zu_swap_change_mm: how far the decoded pose moves (mean joint distance, camera frame,
  mm) when each test image's z_u is replaced by another test image's, z_p kept - from the
  pose and image encoders ("labels": z_p from the pose, z_u from the image) and from the
  image encoder alone ("rgb", its second half). D8: <= 0.1 x the mean-pose EPE, and the
  ablation clearly larger;
- the z_u walk (Fig. 5): z_u moves from A's to B's (different contents), z_p stays A's;
  the decoded pose's largest drift from the walk's start (mm), and the fraction of walks
  whose last image's border colour is nearer B's background than A's;
- the pose errors (labels-path reconstruction and the image prediction, mm) beside the
  mean pose's, and D7's transfer numbers (benchmarks/dvae_synthesis.py) for this variant.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

from dvae_synthesis import border_colour, evaluate as transfer_numbers, test_images, transfer_pairs, transfer_truth
from results_file import file_notes, kept_rows

CONFIGS = ("yangyao19_dvae_synthesis_zu", "yangyao19_dvae_synthesis_zu_no_inner_loop")


def pose_mm(method, params, state, z, test) -> np.ndarray:
    """Camera-frame joints [N, 21, 3] in mm decoded from z [N, latent_dim] (ground-truth
    root and scale, as predict)."""
    from jaxhands.methods.modalities import pose_3d_to_camera

    out = []
    for start in range(0, len(z), 100):
        rows = slice(start, start + 100)
        pose = method.decode(params, state, "kp3d", z[rows])[0]
        out.append(1000.0 * np.asarray(pose_3d_to_camera(pose, {k: v[rows] for k, v in test.items()},
                                                         method.invariances)))
    return np.concatenate(out)


def invariance_numbers(run, test: dict, other: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict:
    import jax.numpy as jnp

    from jaxhands.methods.modalities import pose_3d_to_camera

    method, params, state = run.method, run.params, run.model_state
    k = method.factor_dim
    batch = {key: jnp.asarray(v) for key, v in test.items() if key not in ("index", "content_id")}
    truth = 1000.0 * np.asarray(batch["keypoints_3d"], np.float64)
    epe = lambda x, y: np.linalg.norm(x - y, axis=-1).mean(axis=-1)  # noqa: E731  [N]
    out = {}
    for source in ("labels", "rgb"):
        z = np.concatenate([np.asarray(method.encode(params, state, source, {key: v[s:s + 100] for key, v in
                                                                            batch.items()})[0][0])
                            for s in range(0, len(other), 100)])
        own = pose_mm(method, params, state, jnp.asarray(z), batch)
        swapped = pose_mm(method, params, state, jnp.asarray(np.concatenate([z[:, :k], z[other, k:]], -1)), batch)
        out[source] = {"pose_epe_mm": float(epe(own, truth).mean()),
                       "zu_swap_change_mm": float(epe(own, swapped).mean())}
    take = lambda idx: {key: v[idx] for key, v in batch.items()}  # noqa: E731
    poses = np.asarray(method.factor_walk(params, state, take(a), take(b), 8, factor="content", source="labels",
                                          modality="kp3d"))  # [W, 8, 21, 3] normalised
    walk_mm = np.stack([1000.0 * np.asarray(pose_3d_to_camera(poses[:, t], take(a), method.invariances))
                        for t in range(8)], 1)
    images = np.asarray(method.factor_walk(params, state, take(a), take(b), 8, factor="content", source="labels",
                                           modality="rgb"))  # [W, 8, S, S, 3]
    tag = test["tag_image"].astype(np.float32) / 255.0 - 0.5
    last = border_colour(images[:, -1])
    nearer_b = (np.linalg.norm(last - border_colour(tag[b]), axis=-1)
                < np.linalg.norm(last - border_colour(tag[a]), axis=-1))
    out["zu_walk"] = {"num_walks": int(len(a)),
                      "pose_drift_mm_max": float(epe(walk_mm, walk_mm[:, :1]).max(axis=1).mean()),
                      "last_border_nearer_content_source_fraction": float(nearer_b.mean())}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides (both runs)")
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--reuse", action="store_true", help="evaluate workdirs that hold the final checkpoint")
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("workdirs/dvae_zu"))
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args()

    import jaxhands
    from jaxhands.baselines import evaluate_mean_pose
    from jaxhands.training.loop import train

    # Seeds not re-run keep their rows in --out (measured with the same overrides, else refused).
    rows = kept_rows(args.out, {"overrides": list(args.set)}, args.seeds,
                     setting_of=lambda row: {"overrides": row.get("overrides")})
    notes = file_notes(args.out)
    command = " ".join(["python"] + sys.argv)
    for seed in args.seeds:
        for name in CONFIGS:
            config = jaxhands.load_config(name, [f"seed={seed}", *args.set])
            workdir = args.workdir / f"{name}_seed{seed}"
            start = time.perf_counter()
            if not (args.reuse and (workdir / "checkpoints" / str(config.num_train_steps)).exists()):
                train(config, workdir, progress=False)
            seconds = time.perf_counter() - start
            test = test_images(config)
            n = len(test["index"])
            rng = np.random.default_rng(seed)
            other = (np.arange(n) + rng.integers(1, n, n)) % n  # never itself
            a, b = transfer_pairs(test, args.pairs, rng)
            mean_pose = evaluate_mean_pose(config)["mean_epe_mm"]
            run = jaxhands.load_run(workdir)
            row = {"config": name, "seed": seed, "command": command,
                   "overrides": list(args.set), "train_seconds": seconds,
                   "num_train_steps": config.num_train_steps, "dvae_disentangle_steps": config.dvae_disentangle_steps,
                   "dvae_zu_inner_steps": config.dvae_zu_inner_steps, "mean_pose_epe_mm": mean_pose,
                   "trained": invariance_numbers(run, test, other, a[:100], b[:100])}
            row["zu_swap_change_over_mean_pose"] = {
                source: row["trained"][source]["zu_swap_change_mm"] / mean_pose for source in ("labels", "rgb")}
            truth = np.stack([transfer_truth(config, int(test["index"][i]), int(test["index"][j]))
                              for i, j in zip(a, b)])
            row["transfer"] = transfer_numbers(run, test, a, b, truth)
            print(f"{name} seed {seed}: {json.dumps(row['trained'])}\n  swap change / mean pose "
                  f"{row['zu_swap_change_over_mean_pose']}\n  transfer {json.dumps(row['transfer'])}", flush=True)
            rows.append(row)
            rows.sort(key=lambda r: (r["seed"], CONFIGS.index(r["config"])))
            if args.out:
                args.out.write_text(json.dumps({"command": command, "rows": rows, **notes},
                                               indent=2) + "\n")


if __name__ == "__main__":
    main()
