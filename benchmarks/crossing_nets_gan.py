"""Crossing Nets check C4 (spec B8): the depth GAN stage alone on the synthetic depth
crops, judged by statistics of 1000 generated against 1000 real maps.

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/crossing_nets_gan.py \
        [--steps 3000] [--seeds 0] [--workdir DIR] [--out docs/results/crossing_nets_gan.json]

Trains `wan17_crossing_nets_full` with the VAE stage removed (cn_vae_steps=0) for --steps
GAN steps (every training depth map, lr 3e-4, Adam beta1 0.5, z ~ U(-1, 1)^23), then:
- foreground fraction (pixels < 0.99 of the [-1, 1] map, background +1): generated
  within +-25 % (relative) of the real maps';
- 1-D Wasserstein distance between the foreground depth values of generated and real
  maps: <= 0.5 x the untrained generator's;
- diversity: mean pairwise L1 between generated maps >= 0.5 x that between real maps
  (mode collapse fails it);
- the discriminator's real/fake accuracy on the 2000 maps in [0.55, 0.95] (not saturated);
every statistic also for the untrained generator (the control that the check can fail),
and a picture of 16 real and 16 generated maps (--picture).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

FOREGROUND_BELOW = 0.99


def wasserstein_1d(a: np.ndarray, b: np.ndarray, levels: int = 2000) -> float:
    """W1 between two 1-D empirical distributions: the mean gap between their quantile functions."""
    if not len(a) or not len(b):
        return float("inf")
    q = (np.arange(levels) + 0.5) / levels
    return float(np.abs(np.quantile(a, q) - np.quantile(b, q)).mean())


def mean_pairwise_l1(maps: np.ndarray, pairs: int = 2000, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(maps), (2, pairs))
    keep = i != j
    return float(np.abs(maps[i[keep]] - maps[j[keep]]).mean())


def map_statistics(real: np.ndarray, fake: np.ndarray) -> dict:
    fg_real, fg_fake = real < FOREGROUND_BELOW, fake < FOREGROUND_BELOW
    return {"foreground_fraction_real": float(fg_real.mean()), "foreground_fraction_generated": float(fg_fake.mean()),
            "foreground_relative_gap": float(fg_fake.mean() / fg_real.mean() - 1.0),
            "foreground_depth_wasserstein": wasserstein_1d(real[fg_real], fake[fg_fake]),
            "diversity_real": mean_pairwise_l1(real), "diversity_generated": mean_pairwise_l1(fake)}


def generate_and_judge(run, real: np.ndarray, seed: int) -> tuple[np.ndarray, dict]:
    import jax
    import jax.numpy as jnp

    from jaxhands.models import depth_gan

    method, params, state = run.method, run.params, run.model_state
    fakes, logits_real, logits_fake = [], [], []
    for k in range(0, len(real), 100):
        z = jax.random.uniform(jax.random.fold_in(jax.random.key(seed), k), (100, depth_gan.LATENT), minval=-1.0,
                               maxval=1.0)
        fake, _ = method._apply("gen", params, state, z, train=False)
        fakes.append(np.asarray(fake))
        logits_real.append(np.asarray(method._discriminate(params, state, jnp.asarray(real[k:k + 100]), train=False)[0]))
        logits_fake.append(np.asarray(method._discriminate(params, state, fake, train=False)[0]))
    fake = np.concatenate(fakes)
    accuracy = 0.5 * ((np.concatenate(logits_real) > 0).mean() + (np.concatenate(logits_fake) < 0).mean())
    return fake, {**map_statistics(real, fake), "discriminator_accuracy": float(accuracy)}


def picture(real: np.ndarray, fake: np.ndarray, path: pathlib.Path, title: str) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 8, figsize=(12, 6.4))
    for i, ax in enumerate(axes.flat):
        maps, k = (real, i) if i < 16 else (fake, i - 16)
        ax.imshow(maps[k], cmap="viridis_r", vmin=-1, vmax=1)
        ax.set_axis_off()
    axes[0, 0].set_title("real (rows 1-2)", loc="left", fontsize=9)
    axes[2, 0].set_title("generated (rows 3-4)", loc="left", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("workdirs/crossing_nets_gan"))
    parser.add_argument("--out", type=pathlib.Path, default=None)
    parser.add_argument("--picture", type=pathlib.Path, default=None, help="PNG of real and generated maps")
    parser.add_argument("--from-run", default=None, metavar="DIR@STEP",
                        help="judge the checkpoint at STEP (the end of the GAN stage) of a trained Crossing Nets "
                             "run instead of training one")
    args = parser.parse_args()

    import jaxhands
    from jaxhands.training.experiment import build_experiment
    from jaxhands.training.loop import train

    rows = []
    for seed in args.seeds if not args.from_run else [None]:
        if args.from_run:
            path, _, step = args.from_run.partition("@")
            workdir, seconds = pathlib.Path(path), None
            run = jaxhands.load_run(workdir, int(step) if step else None)
            config, seed = run.config, run.config.seed
            gan_steps = run.step - min(run.step, config.cn_vae_steps)
        else:
            config = jaxhands.load_config("wan17_crossing_nets_full", [
                f"seed={seed}", "cn_vae_steps=0", f"cn_gan_steps={args.steps}", f"num_train_steps={args.steps}",
                "eval_every=0", f"checkpoint_every={args.steps}", "log_every=250"])
            workdir, gan_steps = args.workdir / f"seed{seed}", args.steps
            start = time.perf_counter()
            train(config, workdir, progress=False)
            seconds = time.perf_counter() - start
            run = jaxhands.load_run(workdir)
        experiment = build_experiment(config)
        batches = experiment.streams().batches("train", 10_000)  # maps the run had not reached
        real = []
        while sum(len(r) for r in real) < 1000:
            real.append(np.asarray(run.method.depth_input(next(batches))))
        real = np.concatenate(real)[:1000]
        fake, trained = generate_and_judge(run, real, seed)
        _, untrained = generate_and_judge(jaxhands.load_run(workdir, untrained=True), real, seed)
        checks = {
            "foreground_within_25pct": abs(trained["foreground_relative_gap"]) <= 0.25,
            "wasserstein_at_most_half_untrained": trained["foreground_depth_wasserstein"]
            <= 0.5 * untrained["foreground_depth_wasserstein"],
            "diversity_at_least_half_real": trained["diversity_generated"] >= 0.5 * trained["diversity_real"],
            "discriminator_not_saturated": 0.55 <= trained["discriminator_accuracy"] <= 0.95}
        rows.append({"seed": seed, "workdir": str(workdir), "checkpoint_step": run.step, "gan_steps": gan_steps,
                     "batch_size": config.batch_size, "train_seconds": seconds, "trained": trained,
                     "untrained": untrained, "checks": checks})
        print(f"seed {seed} ({gan_steps} GAN steps at batch {config.batch_size}): " + json.dumps(trained) + "\n  untrained: "
              + json.dumps(untrained) + "\n  checks: " + json.dumps(checks), flush=True)
        if args.picture and not rows[:-1]:
            picture(real, fake, args.picture, f"Crossing Nets depth GAN, {gan_steps} steps, seed {seed}: "
                                              "real (top) vs generated (bottom), [-1, 1], background +1")
    if args.out:
        args.out.write_text(json.dumps({"command": " ".join(["python"] + sys.argv), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
