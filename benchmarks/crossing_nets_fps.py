"""Crossing Nets check C10 (spec B8): depth -> pose inference speed at the paper's 128 px,
batch 1, on this CPU, beside the paper's 90.9 FPS (11 ms, Intel i7 3.4 GHz, Theano).

    python benchmarks/crossing_nets_fps.py [--workdir DIR] [--frames 500] [--out FILE.json]

Timed separately, per frame (median over --frames, after compilation):
- network: trunk + posterior head + pose decoder, x [1, 128, 128] -> 23-d latent -> 63
  numbers, the path the paper times (it excludes the crop and data loading);
- predict: CrossingNets.predict, the network plus depth normalisation, the label-free
  depth centre and the camera-frame joints, read back to the host;
- crop: the depth_cube crop (jaxhands.data.hand_crop, numpy) of a 320x240 frame, 250 mm cube.
The network's multiply-accumulates come from XLA's cost analysis (spec: ~55 M). With
--workdir a trained run is timed; otherwise a fresh one (speed does not depend on the
weights). The load average is printed: a busy machine reads slower.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np

CROSSING_NETS_CPU_FPS = 90.9


def median_ms(fn, frames: int) -> float:
    fn()  # compile / warm
    times = []
    for _ in range(frames):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000.0 * float(np.median(times))


def depth_frame(rng) -> tuple[np.ndarray, np.ndarray]:
    """A 240 x 320 depth frame (metres) with a hand-sized blob at ~0.5 m, and its intrinsics."""
    intrinsics = np.array([[475.0, 0, 160.0], [0, 475.0, 120.0], [0, 0, 1]], np.float32)
    v, u = np.mgrid[:240, :320]
    blob = ((u - 170) / 45.0) ** 2 + ((v - 110) / 60.0) ** 2 < 1.0
    depth = np.where(blob, 0.5 + 0.02 * rng.standard_normal((240, 320)), 0.0).astype(np.float32)
    depth[200:] = 0.9  # a table behind the hand, outside the cube
    return depth, intrinsics


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=pathlib.Path, default=None)
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args()
    import jax
    import jax.numpy as jnp

    import jaxhands
    from jaxhands.data.hand_crop import HandCropConfig, crop_hand
    from jaxhands.models import depth_gan

    if args.workdir:
        run = jaxhands.load_run(args.workdir)
        method, params, state = run.method, run.params, run.model_state
    else:
        from jaxhands.methods.crossing_nets import CrossingNets

        config = jaxhands.load_config("wan17_crossing_nets_gpu128")
        method = CrossingNets(config)
        example = {"depth": jnp.zeros((1, 128, 128)), "keypoints_3d": jnp.zeros((1, 21, 3)),
                   "intrinsics": jnp.eye(3)[None]}
        params, state = method.init(jax.random.key(0), example)
    size = method.config.image_size

    def network(params, state, x):
        h, _ = method._apply("disc_trunk", params, state, x, train=False)
        z, _ = method._apply("post_head", params, state, h, train=False)
        y, _ = method._apply("dec_pose", params, state, z[:, :depth_gan.LATENT_POSE], train=False)
        return y

    rng = np.random.default_rng(0)
    depth, intrinsics = depth_frame(rng)
    crop_config = HandCropConfig(mode="depth_cube", out_size=size, cube_size_m=method.config.cn_cube_size_m)
    sample = {"depth": depth, "intrinsics": intrinsics}
    cropped = crop_hand(sample, crop_config)
    batch = {"depth": jnp.asarray(cropped["depth"])[None], "intrinsics": jnp.asarray(cropped["intrinsics"])[None]}
    x = method.depth_input(batch)

    network_jit = jax.jit(network)
    predict_jit = jax.jit(method.predict)
    cost = network_jit.lower(params, state, x).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    macs = float(cost.get("flops", float("nan"))) / 2.0
    network_ms = median_ms(lambda: network_jit(params, state, x).block_until_ready(), args.frames)
    predict_ms = median_ms(lambda: np.asarray(predict_jit(params, state, batch)), args.frames)
    crop_ms = median_ms(lambda: crop_hand(sample, crop_config), max(50, args.frames // 5))
    load = os.getloadavg()[0]
    result = {
        "command": " ".join(["python"] + sys.argv), "image_size": size, "batch": 1, "jax_backend": jax.default_backend(),
        "cpu_count": os.cpu_count(), "load_average_1min": load, "network_macs": macs,
        "network_ms": network_ms, "network_fps": 1000.0 / network_ms,
        "predict_ms": predict_ms, "predict_fps": 1000.0 / predict_ms, "crop_ms": crop_ms,
        "paper_fps": CROSSING_NETS_CPU_FPS, "network_fps_over_paper": 1000.0 / network_ms / CROSSING_NETS_CPU_FPS,
        "predict_fps_over_paper": 1000.0 / predict_ms / CROSSING_NETS_CPU_FPS,
        "crop_plus_predict_fps": 1000.0 / (crop_ms + predict_ms)}
    print(f"Crossing Nets depth -> pose, {size} px, batch 1, {jax.default_backend()} ({os.cpu_count()} cores, "
          f"load {load:.1f}); network {macs / 1e6:.1f} M MACs")
    print(f"  network (trunk + pos + decoder): {network_ms:.2f} ms = {1000 / network_ms:.1f} FPS "
          f"-> {result['network_fps_over_paper']:.2f}x the paper's {CROSSING_NETS_CPU_FPS} FPS")
    print(f"  predict (+ normalisation, centre, joints to host): {predict_ms:.2f} ms = {1000 / predict_ms:.1f} FPS "
          f"-> {result['predict_fps_over_paper']:.2f}x")
    print(f"  crop (320x240 frame, depth cube, numpy): {crop_ms:.2f} ms; crop + predict "
          f"{result['crop_plus_predict_fps']:.1f} FPS")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
