"""Can an image encoder learn 3D pose from this input? Controls for issue 25 (collapse).

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/rgb_learnability.py \
        [--inputs rgb_textured rgb_plain hand_over_grey hand_over_fixed_colour mask depth] \
        [--crops none hand] [--seeds 0 1] [--steps 600] [--eval-every 200] [--lr 1e-3]

Trains, for every (input, crop, seed), the same deterministic regressor (the RGB
configs' ResNet-18 encoder mean head -> 2-layer MLP of 512 -> 21 x 3 joints; squared
distance to the root-relative, bone-normalised pose; Adam; no augmentation) on the
synthetic 4000/500 split and reports on the 500 test images:

- the mean joint error in mm (ground-truth root and scale, all 21 joints) and its
  ratio to the **mean-pose** baseline (the mean training pose for every image: what a
  collapsed regressor outputs; ratio ~1.0 = no learning);
- the **untrained** network's error (step 0) and the **nearest-neighbour** baseline
  (the pose of the training input nearest in pixels, at the same input and crop);
- the test **spread ratio** (jaxhands.evaluation.spread): root-relative spread of the
  predictions across the test set / that of the ground truth; ~0 = one constant pose.

Inputs (all rendered from the same hands; what each one really is):
  rgb_textured            the colour image over its textured background (the default data)
  rgb_plain               the colour image over a plain background (a second dataset built
                          with synthetic_background="plain": same hands, other pixels)
  hand_over_grey          rgb_textured with every non-hand pixel set to mid-grey (0 in the
                          network input) using the ground-truth mask
  hand_over_fixed_colour  the same, with one fixed non-grey colour shared by all images
  mask                    the ground-truth binary hand mask (shape only, no shading)
  depth                   the normalised depth map, as the depth configs see it
Crops: "none" = the full 64 px frame the pre-issue-12 configs used; "hand" = the papers'
crop (rgb_keypoints for colour inputs and the mask, depth_cube for depth) from 128 px
frames, as the image configs now do (jaxhands.data.hand_crop).
"""

from __future__ import annotations

import argparse
import dataclasses
import time


INPUTS = ("rgb_textured", "rgb_plain", "hand_over_grey", "hand_over_fixed_colour", "mask", "depth")
CROPS = ("none", "hand")
# The background of hand_over_fixed_colour, in the network's [-0.5, 0.5] input units (a dull green).
FIXED_COLOUR = (-0.2, 0.15, -0.3)


def input_fn(name: str):
    import jax.numpy as jnp

    from jaxhands.methods.image_modalities import depth_input, rgb_input

    def on_hand(batch):
        return jnp.asarray(batch["mask"], jnp.float32)[..., None]

    if name in ("rgb_textured", "rgb_plain"):
        return rgb_input
    if name == "hand_over_grey":
        return lambda b: rgb_input(b) * on_hand(b)
    if name == "hand_over_fixed_colour":
        return lambda b: rgb_input(b) * on_hand(b) + jnp.asarray(FIXED_COLOUR) * (1.0 - on_hand(b))
    if name == "mask":
        return lambda b: on_hand(b) - 0.5
    return lambda b: depth_input(b)[..., None]


def make_experiment(name: str, crop: str, seed: int, args):
    from jaxhands.configs import get_config
    from jaxhands.training.experiment import build_experiment

    config = get_config("spurr18_rgb_to_3d_var1")
    config.augment = None
    config.seed = seed
    config.synthetic_num_train, config.synthetic_num_test = args.num_train, args.num_test
    config.synthetic_background = "plain" if name == "rgb_plain" else "textured"
    if crop == "none":
        config.hand_crop.mode = "none"
        config.synthetic_image_size = 0
    else:
        config.hand_crop.mode = "depth_cube" if name == "depth" else "rgb_keypoints"
    experiment = build_experiment(config)
    fields = experiment.fields + ("image", "mask", "depth", "keypoints_3d")
    return config, dataclasses.replace(experiment, fields=tuple(dict.fromkeys(fields)))


def stacked(batches, fields):
    import numpy as np

    rows = {k: [] for k in fields}
    for batch in batches:
        valid = np.asarray(batch["valid"]) if "valid" in batch else slice(None)
        for k in fields:
            rows[k].append(np.asarray(batch[k])[valid])
    return {k: np.concatenate(v) for k, v in rows.items()}


def run(name: str, crop: str, seed: int, args) -> dict:
    import itertools

    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    from jaxhands.evaluation.spread import batch_spread
    from jaxhands.methods.modalities import Invariances, pose_3d_target, pose_frame
    from jaxhands.models.mlp import MLPDecoder
    from jaxhands.models.resnet import ResNetEncoder

    config, experiment = make_experiment(name, crop, seed, args)
    inv = Invariances.from_config(config)
    to_input = jax.jit(input_fn(name))
    as_jnp = lambda b: {k: jnp.asarray(v) for k, v in b.items()}  # noqa: E731
    example = as_jnp(experiment.example_batch())
    x0 = to_input(example)
    encoder = ResNetEncoder(latent_dim=64, width=args.width, in_channels=x0.shape[-1], stem="imagenet")
    decoder = MLPDecoder(output_shape=(21, 3), width=512, num_layers=2)
    variables = encoder.init(jax.random.key(seed), x0, train=False)
    params = {"enc": variables["params"],
              "dec": decoder.init(jax.random.key(seed + 1), jnp.zeros((1, 64)))["params"]}
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
    def predict(params, batch_stats, batch):
        mu, _ = encoder.apply({"params": params["enc"], "batch_stats": batch_stats}, to_input(batch), train=False)
        return decoder.apply({"params": params["dec"]}, mu)

    # Test set and the baselines, all in mm with the ground-truth root and scale.
    test = [as_jnp(b) for b in experiment.eval_batches()]
    valid = np.concatenate([np.asarray(b["valid"]) for b in test])
    target = np.concatenate([np.asarray(pose_3d_target(b, inv)) for b in test])[valid]
    scale = np.concatenate([np.asarray(pose_frame(b, inv)[1]) for b in test])[valid]

    def error_mm(pred):  # pred: [N, 21, 3] normalised
        return float(1000.0 * np.mean(np.linalg.norm((pred - target) * scale, axis=-1)))

    def spread(pred):
        return float(batch_spread(pred * scale) / batch_spread(target * scale))

    train_iter = experiment.train_batches(0)
    train_rows = [as_jnp(b) for b in itertools.islice(train_iter, args.num_train // config.batch_size)]
    train_pose = np.concatenate([np.asarray(pose_3d_target(b, inv)) for b in train_rows])
    mean_mm = error_mm(np.broadcast_to(train_pose.mean(0), target.shape))
    # Nearest neighbour in the network's input space (4x4-pooled pixels, L2).
    def pooled(b):
        x = np.asarray(to_input(b), np.float32)
        n, h, w, c = x.shape
        return x.reshape(n, h // 4, 4, w // 4, 4, c).mean((2, 4)).reshape(n, -1)
    keys = np.concatenate([pooled(b) for b in train_rows])
    queries = np.concatenate([pooled(b) for b in test])[valid]
    d2 = (queries ** 2).sum(1)[:, None] - 2 * queries @ keys.T + (keys ** 2).sum(1)[None]
    nn_mm = error_mm(train_pose[np.argmin(d2, axis=1)])

    def evaluate():
        pred = np.concatenate([np.asarray(predict(params, batch_stats, b)) for b in test])[valid]
        return error_mm(pred), spread(pred)

    untrained_mm, untrained_spread = evaluate()
    result = dict(name=name, crop=crop, seed=seed, mean_mm=mean_mm, nn_mm=nn_mm, untrained_mm=untrained_mm,
                  rows=[])
    print(f"{name:23s} crop {crop:4s} seed {seed}: mean pose {mean_mm:6.2f} mm, nearest neighbour {nn_mm:6.2f} mm, "
          f"untrained {untrained_mm:6.2f} mm (spread {untrained_spread:.3f})", flush=True)
    start = time.perf_counter()
    batches = experiment.train_batches(0)
    for i in range(1, args.steps + 1):
        params, batch_stats, opt_state, loss = step(params, batch_stats, opt_state, as_jnp(next(batches)))
        if i % args.eval_every == 0 or i == args.steps:
            model_mm, model_spread = evaluate()
            result["rows"].append((i, model_mm, model_spread))
            print(f"{'':23s} step {i:5d}  train loss {float(loss):.4f}  test {model_mm:6.2f} mm  ratio to mean "
                  f"pose {model_mm / mean_mm:.3f}  spread {model_spread:.3f}  ({time.perf_counter() - start:.0f} s)",
                  flush=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", nargs="+", default=list(INPUTS), choices=INPUTS)
    parser.add_argument("--crops", nargs="+", default=list(CROPS), choices=CROPS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--eval-every", type=int, default=200)
    parser.add_argument("--num-train", type=int, default=4000)
    parser.add_argument("--num-test", type=int, default=500)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()

    results = [run(name, crop, seed, args) for name in args.inputs for crop in args.crops for seed in args.seeds]
    print(f"\ntest mean joint error [mm] after {args.steps} steps (ratio to the mean pose; test spread ratio), "
          f"{args.num_train} training images, 64 px, ResNet-18 width {args.width}, lr {args.lr}, no augmentation")
    print(f"{'input':23s} {'crop':5s} {'seed':>4s} {'mean pose':>9s} {'near. nb.':>9s} {'untrained':>9s} "
          f"{'trained':>9s} {'ratio':>6s} {'spread':>6s}")
    for r in results:
        step, mm, spread = r["rows"][-1]
        print(f"{r['name']:23s} {r['crop']:5s} {r['seed']:4d} {r['mean_mm']:9.2f} {r['nn_mm']:9.2f} "
              f"{r['untrained_mm']:9.2f} {mm:9.2f} {mm / r['mean_mm']:6.3f} {spread:6.3f}")


if __name__ == "__main__":
    main()
