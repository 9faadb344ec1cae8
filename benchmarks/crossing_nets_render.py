"""Crossing Nets checks C5 (render route) and C9 (smoothness) of the spec, on a trained run.

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/crossing_nets_render.py --workdir W \
        [--warm-step STEP] [--pairs 100] [--walk-steps 10] [--out docs/results/crossing_nets_render.json]

On the whole test split (depth maps x, poses y, Z_l = [Enc(y) mean, origin]):
C5, at the end of the warm-up (--warm-step; default cn_vae + cn_gan + cn_warm steps) and at
the latest checkpoint:
- render error: mean clipped squared error min((x - Gen(Ali(Z_l)))^2, 1) against the same for
  the mean training map (accept <= 0.5 x);
- pose consistency: root-relative EPE of Dec(pos(.)) on the rendered maps against its EPE on
  the real maps (accept <= 1.5 x): are rendered maps accurate enough to train on.
C9, latest checkpoint, along --pairs linear walks between two test latents Z_l (--walk-steps
points, ends included), maps x_t = Gen(Ali(z_t)):
- the largest step-to-step L2 change of x_t over the mean change (accept <= 3, every walk);
- the cycle error ||pos(x_t) - z_t|| (mean) over the test ||pos(x) - Z_l|| (accept <= 1.5).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np


def test_arrays(run):
    """(x [N, S, S], y root-relative metres [N, 21, 3], Z_l [N, 23], mean training map [S, S])."""
    import jax.numpy as jnp

    from jaxhands.training.experiment import build_experiment

    method, params, state = run.method, run.params, run.model_state
    experiment = build_experiment(run.config)
    xs, ys, zs = [], [], []
    for batch in experiment.eval_batches():
        valid = np.asarray(batch.pop("valid"))
        batch = {k: jnp.asarray(v) for k, v in batch.items()}
        (z, _), _ = method.encode(params, state, "kp3d", batch)
        joints = np.asarray(batch["keypoints_3d"])
        xs.append(np.asarray(method.depth_input(batch))[valid])
        ys.append((joints - joints[:, :1])[valid])
        zs.append(np.asarray(z)[valid])
    train = experiment.streams().batches("train", 0)
    mean_map = np.mean([np.asarray(method.depth_input(next(train))).mean(0) for _ in range(20)], axis=0)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(zs), mean_map


def posterior(run, x):
    """(z = pos(trunk(x)) [N, 23], root-relative joints Dec(z[:20]) [N, 21, 3] metres)."""
    import jax.numpy as jnp

    method = run.method
    h, _ = method._apply("disc_trunk", run.params, run.model_state, jnp.asarray(x), train=False)
    z, _ = method._apply("post_head", run.params, run.model_state, h, train=False)
    pose, _ = method.decode(run.params, run.model_state, "kp3d", z)
    return np.asarray(z), np.asarray(pose)


def render(run, z):
    import jax.numpy as jnp

    return np.asarray(run.method.decode(run.params, run.model_state, "depth", jnp.asarray(z, jnp.float32))[0])


def epe_mm(a, b):
    return 1000.0 * float(np.linalg.norm(a - b, axis=-1).mean())


def render_route(run, x, y, z_l, mean_map) -> dict:
    rendered = np.concatenate([render(run, z_l[i:i + 100]) for i in range(0, len(z_l), 100)])
    error = float(np.minimum((x - rendered) ** 2, 1.0).mean())
    mean_error = float(np.minimum((x - mean_map) ** 2, 1.0).mean())
    _, pose_real = posterior(run, x)
    _, pose_rendered = posterior(run, rendered)
    real_epe, rendered_epe = epe_mm(pose_real, y), epe_mm(pose_rendered, y)
    return {"step": run.step, "clipped_mse_render": error, "clipped_mse_mean_map": mean_error,
            "render_over_mean_map": error / mean_error, "pos_epe_real_mm": real_epe,
            "pos_epe_rendered_mm": rendered_epe, "rendered_over_real_epe": rendered_epe / real_epe,
            "accept": {"render_over_mean_map<=0.5": error / mean_error <= 0.5,
                       "rendered_over_real_epe<=1.5": rendered_epe / real_epe <= 1.5}}


def smoothness(run, x, z_l, pairs: int, steps: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    z_test, _ = posterior(run, x)
    test_error = float(np.linalg.norm(z_test - z_l, axis=-1).mean())
    ratios, cycle = [], []
    t = np.linspace(0.0, 1.0, steps)[:, None]
    for _ in range(pairs):
        a, b = rng.choice(len(z_l), 2, replace=False)
        z_t = ((1 - t) * z_l[a] + t * z_l[b]).astype(np.float32)
        maps = render(run, z_t)
        change = np.linalg.norm((maps[1:] - maps[:-1]).reshape(steps - 1, -1), axis=-1)
        ratios.append(float(change.max() / max(change.mean(), 1e-12)))
        z_back, _ = posterior(run, maps)
        cycle.append(float(np.linalg.norm(z_back - z_t, axis=-1).mean()))
    ratios = np.asarray(ratios)
    return {"step": run.step, "pairs": pairs, "walk_steps": steps, "max_over_mean_change_mean": float(ratios.mean()),
            "max_over_mean_change_worst": float(ratios.max()), "walks_within_3x": float((ratios <= 3.0).mean()),
            "cycle_error": float(np.mean(cycle)), "test_posterior_error": test_error,
            "cycle_over_test": float(np.mean(cycle)) / test_error,
            "accept": {"every_walk_max_change<=3x_mean": bool((ratios <= 3.0).all()),
                       "cycle_over_test<=1.5": float(np.mean(cycle)) / test_error <= 1.5}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=pathlib.Path, required=True)
    parser.add_argument("--warm-step", type=int, default=None)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--walk-steps", type=int, default=10)
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args()
    import jaxhands

    final = jaxhands.load_run(args.workdir)
    c = final.config
    warm_step = args.warm_step or c.cn_vae_steps + c.cn_gan_steps + c.cn_warm_steps
    x, y, z_l, mean_map = test_arrays(final)
    result = {"command": " ".join(["python"] + sys.argv), "workdir": str(args.workdir), "config": c.name,
              "seed": c.seed, "c5_after_warm_up": render_route(jaxhands.load_run(args.workdir, warm_step), x, y, z_l,
                                                               mean_map),
              "c5_final": render_route(final, x, y, z_l, mean_map),
              "c9_final": smoothness(final, x, z_l, args.pairs, args.walk_steps)}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
