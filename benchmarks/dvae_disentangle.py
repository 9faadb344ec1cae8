"""Yang & Yao 2019 dVAE, checks D3/D4 of the spec: the disentangling stage alone (poses only).

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/dvae_disentangle.py \
        [--steps 3000] [--seeds 0 1] [--set dvae_lambda_y=0.01 ...] [--workdir DIR] \
        [--out docs/results/dvae_disentangle.json]

Trains `yangyao19_dvae_pose_depth` for --steps steps of its first stage (factor encoders and
decoders on the training poses), then on the whole test split, in millimetres (the
normalised poses times each hand's reference bone):
- D3 reconstruction: Dp([z_c, z_v]) of the posterior means against the pose, beside the
  mean training pose (acceptance <= 0.25x) and the untrained model;
- the factors alone: canonical pose Dc(z_c) (mm) and viewpoint Dv(z_v) (geodesic degrees);
- D4 viewpoint swap: [z_c(A), z_v(B)] for 500 test pairs against the composed truth
  canonical(A) @ viewpoint(B): its error (mm), and the fraction of pairs nearer the truth
  than to either source pose, the ratio of its error to the nearer source's (spec <= 0.3),
  and the swap split back by the canonical frame: its canonical pose against A's (mm) and
  its rotation against B's (degrees, spec ~15);
- D5 factor walks (8 steps, 100 test pairs): moving z_v only, the canonical pose's drift
  (mm, spec < the D3 canonical error) and Spearman's rho of the angle from the start
  (spec > 0.9); moving z_c only, the rotation's drift (degrees, spec ~10).
With --reuse, a workdir that already holds the final checkpoint is evaluated, not retrained.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np


def test_batch(config) -> dict:
    import jax.numpy as jnp

    from jaxhands.training.experiment import build_experiment

    rows = {"keypoints_3d": [], "hand_side": []}
    for batch in build_experiment(config).eval_batches():
        valid = np.asarray(batch["valid"])
        for k in rows:
            rows[k].append(np.asarray(batch[k])[valid])
    return {k: jnp.asarray(np.concatenate(v)) for k, v in rows.items()}


def evaluate(run, test: dict, train_mean_pose: np.ndarray) -> dict:
    from jaxhands.evaluation.factor_walks import canonical_walk_checks, viewpoint_walk_checks
    from jaxhands.geometry.frames import canonical_frame
    from jaxhands.geometry.viewpoint import geodesic_angle, rot6d_to_matrix
    from jaxhands.methods.modalities import pose_frame

    method, params, state = run.method, run.params, run.model_state
    _, scale = pose_frame(test, method.invariances)
    mm = 1000.0 * np.asarray(scale)  # [N, 1, 1]: normalised units -> mm
    pose, canonical, view = (np.asarray(a) for a in method.factors(test))
    (z, _), _ = method.encode(params, state, "kp3d", test)
    recon = np.asarray(method.decode(params, state, "kp3d", z)[0])
    canonical_hat = np.asarray(method.decode(params, state, "cpose", z)[0])
    view_hat = np.asarray(method.decode(params, state, "view", z)[0])
    epe = lambda a, b: float((np.linalg.norm(a - b, axis=-1) * mm[..., 0]).mean())  # noqa: E731
    n = len(pose)
    a = np.random.default_rng(0).integers(0, n, 500)
    b = (a + np.random.default_rng(1).integers(1, n, 500)) % n
    take = lambda idx: {k: v[idx] for k, v in test.items()}  # noqa: E731
    swapped = np.asarray(method.swap_viewpoint(params, state, take(a), take(b)))
    truth = np.einsum("bkj,bji->bki", canonical[a], np.asarray(rot6d_to_matrix(view))[b])
    dist = lambda target: (np.linalg.norm(swapped - target, axis=-1) * mm[a][..., 0]).mean(axis=1)  # noqa: E731
    nearer = (dist(truth) < dist(pose[a])) & (dist(truth) < dist(pose[b]))
    angle = np.degrees(np.asarray(geodesic_angle(rot6d_to_matrix(view_hat), rot6d_to_matrix(view))))
    swap_canonical, swap_rotation = canonical_frame(swapped.astype(np.float64), np.zeros(len(a), np.int32))
    swap_angle = np.degrees(np.asarray(geodesic_angle(swap_rotation, np.asarray(rot6d_to_matrix(view))[b])))
    walk_a, walk_b = a[:100], b[:100]
    walks = {factor: np.asarray(method.factor_walk(params, state, take(walk_a), take(walk_b), 8, factor=factor))
             for factor in method.factor_names}
    return {"recon_epe_mm": epe(recon, pose), "mean_pose_epe_mm": epe(train_mean_pose[None], pose),
            "recon_over_mean_pose": epe(recon, pose) / epe(train_mean_pose[None], pose),
            "canonical_epe_mm": epe(canonical_hat, canonical), "viewpoint_error_deg_mean": float(angle.mean()),
            "viewpoint_error_deg_median": float(np.median(angle)),
            # A factor the encoder ignores shows as a near-constant decoder output (issue 16:
            # with lambda_y 0.01 the first row of the rotation, std 0.02 against 0.58).
            "view_output_std": np.round(view_hat.std(0), 3).tolist(),
            "view_target_std": np.round(view.std(0), 3).tolist(),
            "swap_error_to_truth_mm": float(dist(truth).mean()), "swap_nearer_truth_than_sources": float(nearer.mean()),
            "swap_error_to_pose_source_mm": float(dist(pose[a]).mean()),
            "swap_error_over_nearer_source": float(
                dist(truth).mean() / np.minimum(dist(pose[a]), dist(pose[b])).mean()),
            # The truth c_A @ R_B differs from pose B only by A's and B's canonical poses: a
            # floor under the ratio above when hands differ little in articulation.
            "truth_to_view_source_mm": float((np.linalg.norm(truth - pose[b], axis=-1) * mm[a][..., 0]).mean()),
            "swap_canonical_epe_mm": float(
                (np.linalg.norm(swap_canonical - canonical[a], axis=-1) * mm[a][..., 0]).mean()),
            "swap_rotation_error_deg_median": float(np.median(swap_angle)),
            "view_walk": {k: v for k, v in viewpoint_walk_checks(walks["view"], mm[walk_a, 0, 0]).items()
                          if k != "angle_rho"},
            "canonical_walk": canonical_walk_checks(walks["cpose"], mm[walk_a, 0, 0])}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("workdirs/dvae_disentangle"))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="config overrides applied after the benchmark's own (e.g. dvae_lambda_y=0.01)")
    parser.add_argument("--reuse", action="store_true",
                        help="evaluate workdirs that hold the final checkpoint as they are")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args()

    import jax.numpy as jnp

    import jaxhands
    from jaxhands.training.experiment import build_experiment
    from jaxhands.training.loop import train

    rows = []
    for seed in args.seeds:
        config = jaxhands.load_config("yangyao19_dvae_pose_depth", [
            f"seed={seed}", f"dvae_disentangle_steps={args.steps}", f"num_train_steps={args.steps}", "eval_every=0",
            f"checkpoint_every={args.steps}", "log_every=500", *args.set])
        workdir = args.workdir / f"seed{seed}"
        start = time.perf_counter()
        if not (args.reuse and (workdir / "checkpoints" / str(args.steps)).exists()):
            train(config, workdir, progress=False)
        seconds = time.perf_counter() - start
        run = jaxhands.load_run(workdir)
        test = test_batch(config)
        records = build_experiment(config).streams().pose_records()
        train_batch = {name: jnp.asarray(np.stack([records[i][name] for i in range(len(records))]))
                       for name in ("keypoints_3d", "hand_side")}
        mean_pose = np.asarray(run.method.factors(train_batch)[0]).mean(0)
        trained = evaluate(run, test, mean_pose)
        untrained = evaluate(jaxhands.load_run(workdir, untrained=True), test, mean_pose)
        rows.append({"seed": seed, "steps": args.steps, "overrides": list(args.set), "train_seconds": seconds,
                     "trained": trained, "untrained": untrained, "num_test": int(len(test["hand_side"]))})
        print(f"seed {seed}: " + json.dumps(trained) + f" ({seconds:.0f} s)\n  untrained: " + json.dumps(untrained),
              flush=True)
    if args.out:
        args.out.write_text(json.dumps({"command": " ".join(["python"] + sys.argv), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
