"""Which input lets an image encoder learn 3D pose within a budget? (issue 4 diagnostics)

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/rgb_learnability.py \
        [--inputs rgb rgb_hand_only mask depth] [--steps 1500] [--eval-every 250] \
        [--num-train 4000] [--background textured|plain] [--width 16] [--stem imagenet|small] [--lr 1e-3]

Trains, for each input, the same deterministic regressor (the rgb_to_3d configs'
ResNet-18 encoder mean head -> 2-layer MLP -> 21 x 3 joints; squared distance to the
root-relative, bone-normalised pose; Adam; no augmentation) on the synthetic 64 px split
and prints the test mean joint error in mm (ground-truth root and scale, all joints) next
to the mean-pose baseline's. A ratio model/baseline of ~1.0 means the network predicts
the mean pose. Inputs, all from the same records:
  rgb            the colour image as the RGB configs see it
  rgb_hand_only  the colour image with the background zeroed by the ground-truth mask
  mask           the binary hand mask
  depth          the normalised depth map (as the depth configs see it)
So a run separates "cannot find the hand in colour" (rgb flat, rgb_hand_only learning)
from a wiring or data problem (everything flat). Measured on the 2-core CPU, 64 px,
width 16: rgb stays at ratio ~1.0 for 3000 steps; mask and depth leave it within ~300
steps (README, "Measured results").
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INPUTS = ("rgb", "rgb_hand_only", "mask", "depth")


def input_fn(name: str):
    import jax.numpy as jnp

    from jaxhands.methods.image_modalities import depth_input, rgb_input

    if name == "rgb":
        return rgb_input
    if name == "rgb_hand_only":
        return lambda b: rgb_input(b) * jnp.asarray(b["mask"], jnp.float32)[..., None]
    if name == "mask":
        return lambda b: jnp.asarray(b["mask"], jnp.float32)[..., None] - 0.5
    return lambda b: depth_input(b)[..., None]  # "depth" (argparse restricts to INPUTS)


def run(name: str, args, experiment, inv) -> list[tuple[int, float, float]]:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    from jaxhands.methods.modalities import pose_3d_target, pose_frame
    from jaxhands.models.mlp import MLPDecoder
    from jaxhands.models.resnet import ResNetEncoder

    to_input = input_fn(name)
    example = {k: jnp.asarray(v) for k, v in experiment.example_batch().items()}
    x0 = to_input(example)
    encoder = ResNetEncoder(latent_dim=64, width=args.width, in_channels=x0.shape[-1], stem=args.stem)
    decoder = MLPDecoder(output_shape=(21, 3), width=512, num_layers=2)
    variables = encoder.init(jax.random.key(args.seed), x0, train=False)
    params = {"enc": variables["params"], "dec": decoder.init(jax.random.key(args.seed + 1), jnp.zeros((1, 64)))["params"]}
    batch_stats = variables["batch_stats"]
    tx = optax.adam(args.lr)
    opt_state = tx.init(params)

    def loss_fn(params, batch_stats, batch):
        (mu, _), updates = encoder.apply({"params": params["enc"], "batch_stats": batch_stats}, to_input(batch),
                                         train=True, mutable=["batch_stats"])
        pred = decoder.apply({"params": params["dec"]}, mu)
        return jnp.mean(jnp.sum(jnp.square(pred - pose_3d_target(batch, inv)), -1)), updates["batch_stats"]

    @jax.jit
    def step(params, batch_stats, opt_state, batch):
        (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, batch_stats, batch)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), batch_stats, opt_state, loss

    @jax.jit
    def errors_mm(params, batch_stats, batch, mean_pose):
        mu, _ = encoder.apply({"params": params["enc"], "batch_stats": batch_stats}, to_input(batch), train=False)
        pred = decoder.apply({"params": params["dec"]}, mu)
        _, scale = pose_frame(batch, inv)  # [B, 1, 1] metres per normalised unit
        target = pose_3d_target(batch, inv)
        err = lambda p: 1000.0 * jnp.mean(jnp.linalg.norm((p - target) * scale, axis=-1), -1)  # noqa: E731
        return err(pred), err(jnp.broadcast_to(mean_pose, target.shape))

    # Mean-pose baseline: the mean normalised training pose (what a collapsed regressor outputs).
    train_iter = experiment.train_batches(0)
    batch_means = [np.asarray(pose_3d_target({k: jnp.asarray(v) for k, v in next(train_iter).items()}, inv)).mean(0)
                   for _ in range(20)]
    mean_pose = jnp.asarray(np.mean(batch_means, 0))

    def evaluate():
        model, base = [], []
        for batch in experiment.eval_batches():
            valid = np.asarray(batch["valid"])
            m, b = errors_mm(params, batch_stats, {k: jnp.asarray(v) for k, v in batch.items()}, mean_pose)
            model.append(np.asarray(m)[valid])
            base.append(np.asarray(b)[valid])
        return float(np.concatenate(model).mean()), float(np.concatenate(base).mean())

    rows, start = [], time.perf_counter()
    batches = experiment.train_batches(0)
    for i in range(1, args.steps + 1):
        batch = {k: jnp.asarray(v) for k, v in next(batches).items()}
        params, batch_stats, opt_state, loss = step(params, batch_stats, opt_state, batch)
        if i % args.eval_every == 0 or i == args.steps:
            model_mm, base_mm = evaluate()
            rows.append((i, model_mm, base_mm))
            print(f"{name:14s} step {i:5d}  train loss {float(loss):.4f}  test {model_mm:6.2f} mm  mean pose "
                  f"{base_mm:6.2f} mm  ratio {model_mm / base_mm:.3f}  ({time.perf_counter() - start:.0f} s)",
                  flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", nargs="+", default=list(INPUTS), choices=INPUTS)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--num-train", type=int, default=4000)
    parser.add_argument("--num-test", type=int, default=500)
    parser.add_argument("--background", default="textured", choices=("textured", "plain"))
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--stem", default="imagenet", choices=("imagenet", "small"))
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from configs.spurr18_rgb_to_3d_var1 import get_config
    from jaxhands.methods.modalities import Invariances
    from jaxhands.training.experiment import build_experiment

    config = get_config()
    config.augment = None
    config.synthetic_num_train, config.synthetic_num_test = args.num_train, args.num_test
    config.synthetic_background = args.background
    config.seed = args.seed
    experiment = build_experiment(config)
    experiment = dataclasses.replace(
        experiment, fields=tuple(dict.fromkeys(experiment.fields + ("image", "mask", "depth", "keypoints_3d"))))
    inv = Invariances.from_config(config)
    results = {name: run(name, args, experiment, inv) for name in args.inputs}

    print(f"\ntest mean joint error [mm] (ratio to the mean-pose baseline), {args.num_train} training images, "
          f"{args.background} background, ResNet-18 width {args.width}, {args.stem} stem, lr {args.lr}")
    steps = [s for s, _, _ in next(iter(results.values()))]
    print(f"{'input':14s} " + " ".join(f"{f'step {s}':>17s}" for s in steps))
    for name, rows in results.items():
        print(f"{name:14s} " + " ".join(f"{m:7.2f} ({m / b:.3f})" for _, m, b in rows))


if __name__ == "__main__":
    main()
