"""Crossing Nets check C3 (spec B8): the pose VAE stage alone, on the synthetic poses.

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/crossing_nets_pose_vae.py \
        [--steps 2000] [--seeds 0 1] [--workdir DIR] [--out docs/results/crossing_nets_pose_vae.json]

Trains `wan17_crossing_nets_full` for --steps steps (all of them in the VAE stage: its
labelled poses, lr 3e-4, Adam beta1 0.5), then on the whole test split reports:
- reconstruction EPE (mm, root-relative, all joints) of Dec(mu(Enc(y))) against y, beside the
  mean training pose's EPE (acceptance: <= 0.2 x mean pose);
- the fraction of bones of 1000 poses decoded from z ~ N(0, I) whose length lies inside the
  training poses' per-bone min-max range (acceptance: >= 90 %); the same for an untrained
  decoder, as the control that the check can fail.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """[N, 21, 3] -> [N, 20]."""
    from jaxhands.geometry.layouts import BONES

    parents, children = np.array([p for p, _ in BONES]), np.array([c for _, c in BONES])
    return np.linalg.norm(joints[:, children] - joints[:, parents], axis=-1)


def inside_fraction(joints: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    bones = bone_lengths(joints)
    return float(((bones >= lo) & (bones <= hi)).mean())


def pca_gaussian_reference(train_y: np.ndarray, lo, hi, unit_mm: float, seed: int, k: int = 20) -> float:
    """Bones inside the range for 1000 samples of the linear-Gaussian model of the training
    poses with k components (mean + N(0, eigenvalues) along the principal axes): what a
    k-d latent with a (near-)linear decoder can reach on these poses."""
    mean = train_y.mean(0)
    _, s, vt = np.linalg.svd(train_y - mean, full_matrices=False)
    z = np.random.default_rng(seed).normal(size=(1000, k)) * s[:k] / np.sqrt(len(train_y))
    return inside_fraction((z @ vt[:k] + mean).reshape(1000, -1, 3) * unit_mm, lo, hi)


def evaluate(run, train_y: np.ndarray, test_y: np.ndarray, seed: int) -> dict:
    import jax

    method, params, state = run.method, run.params, run.model_state
    (mu, _), _ = method._apply("enc_pose", params, state, test_y, train=False)
    recon, _ = method._apply("dec_pose", params, state, mu, train=False)
    unit_mm = 1000.0 * run.config.cn_pose_unit_m
    to_joints = lambda y: np.asarray(y).reshape(len(y), -1, 3) * unit_mm  # noqa: E731
    recon_epe = float(np.linalg.norm(to_joints(recon) - to_joints(test_y), axis=-1).mean())
    mean_epe = float(np.linalg.norm(to_joints(train_y.mean(0, keepdims=True)) - to_joints(test_y), axis=-1).mean())
    train_bones = bone_lengths(to_joints(train_y))
    lo, hi = train_bones.min(0), train_bones.max(0)
    z = jax.random.normal(jax.random.key(seed), (1000, 20))
    samples, _ = method._apply("dec_pose", params, state, z, train=False)
    # The aggregate posterior: a Gaussian fitted to the training poses' encoder means. With
    # the code's 0.05-std posterior noise the KL term does not pull it onto N(0, I).
    (train_mu, _), _ = method._apply("enc_pose", params, state, train_y, train=False)
    train_mu = np.asarray(train_mu, np.float64)
    cov = np.cov(train_mu, rowvar=False) + 1e-9 * np.eye(train_mu.shape[1])
    z_agg = np.random.default_rng(seed).multivariate_normal(train_mu.mean(0), cov, size=1000).astype(np.float32)
    agg_samples, _ = method._apply("dec_pose", params, state, z_agg, train=False)
    return {"recon_epe_mm": recon_epe, "mean_pose_epe_mm": mean_epe, "ratio": recon_epe / mean_epe,
            "prior_bones_inside_training_range": inside_fraction(to_joints(samples), lo, hi),
            "aggregate_posterior_bones_inside_training_range": inside_fraction(to_joints(agg_samples), lo, hi),
            "recon_bones_inside_training_range": inside_fraction(to_joints(recon), lo, hi),
            "pca20_gaussian_bones_inside_training_range": pca_gaussian_reference(train_y, lo, hi, unit_mm, seed),
            "encoder_mean_std_per_dim": [float(v) for v in train_mu.std(0).round(3)]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("workdirs/crossing_nets_pose_vae"))
    parser.add_argument("--lr", type=float, default=None, help="override cn_lr_vae (the code's 3e-4)")
    parser.add_argument("--no-pca-init", dest="pca_init", action="store_false",
                        help="random pose-VAE initialisation instead of the code's PCA one (cn_pca_init=False)")
    parser.add_argument("--latent-noise", type=float, default=None,
                        help="override cn_latent_noise (the code's 0.05; 1.0 = the standard VAE)")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args()

    import jaxhands
    from jaxhands.training.experiment import build_sources
    from jaxhands.training.loop import train

    rows = []
    for seed in args.seeds:
        config = jaxhands.load_config("wan17_crossing_nets_full", [
            f"seed={seed}", f"cn_vae_steps={args.steps}", f"num_train_steps={args.steps}", "eval_every=0",
            f"checkpoint_every={args.steps}", "log_every=250", f"cn_pca_init={args.pca_init}"] + ([f"cn_lr_vae={args.lr}"] if args.lr else [])
            + ([f"cn_latent_noise={args.latent_noise}"] if args.latent_noise is not None else []))
        workdir = args.workdir / (f"lr{config.cn_lr_vae:g}_noise{config.cn_latent_noise:g}_"
                                  f"{'pca' if args.pca_init else 'random'}_seed{seed}")
        start = time.perf_counter()
        train(config, workdir, progress=False)
        seconds = time.perf_counter() - start
        run = jaxhands.load_run(workdir)
        train_source, test_source = build_sources(config)
        y_of = lambda source: np.stack([  # noqa: E731
            np.asarray(run.method.pose_vector({"keypoints_3d": source[i]["keypoints_3d"][None]}))[0]
            for i in range(len(source))])
        train_y, test_y = y_of(train_source), y_of(test_source)
        trained = evaluate(run, train_y, test_y, seed)
        untrained = evaluate(jaxhands.load_run(workdir, untrained=True), train_y, test_y, seed)
        rows.append({"seed": seed, "steps": args.steps, "lr": config.cn_lr_vae, "pca_init": args.pca_init, "latent_noise": config.cn_latent_noise, "train_seconds": seconds, "trained": trained,
                     "untrained": untrained, "num_test": len(test_y), "num_train_poses": len(train_y)})
        print(f"seed {seed}: recon {trained['recon_epe_mm']:.2f} mm vs mean pose {trained['mean_pose_epe_mm']:.2f} mm "
              f"(ratio {trained['ratio']:.3f}, accept <= 0.2); prior bones inside the training range "
              f"{100 * trained['prior_bones_inside_training_range']:.1f} % (untrained decoder "
              f"{100 * untrained['prior_bones_inside_training_range']:.1f} %; accept >= 90 %); aggregate posterior "
              f"{100 * trained['aggregate_posterior_bones_inside_training_range']:.1f} %, reconstructions "
              f"{100 * trained['recon_bones_inside_training_range']:.1f} %, PCA-20 Gaussian reference "
              f"{100 * trained['pca20_gaussian_bones_inside_training_range']:.1f} %; {seconds:.0f} s",
              flush=True)
    if args.out:
        args.out.write_text(json.dumps({"command": " ".join(["python"] + sys.argv), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
