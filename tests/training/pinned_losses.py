"""The first 50 logged losses of three named experiments at tiny sizes, pinned so that a
refactor of the method interface, configs or training loop cannot change what an
existing experiment computes without a test saying so.

    python -m tests.training.pinned_losses --data-dir D --out tests/training/data/pinned_losses.json

records them (run before the change); test_pinned_losses.py replays them. Both compile at
the test processes' XLA level (tests/conftest.py), which the recorder sets itself.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import tempfile

# name -> overrides on the named config: tiny widths and datasets, every step logged.
TINY = dict(num_train_steps=50, log_every=1, eval_every=0, checkpoint_every=50, async_checkpointing=False,
            synthetic_num_test=16)
EXPERIMENTS = {
    "spurr18_2d_to_3d_var3": dict(TINY, synthetic_num_train=256, batch_size=16, mlp_width=32, mlp_layers=2,
                                  latent_dim=8),
    "spurr18_rgb_to_3d_var3": dict(TINY, synthetic_num_train=64, batch_size=8, image_size=32, resnet_width=4,
                                   latent_dim=8, mlp_width=32, mlp_layers=2, image_decoder_channels=16),
    "yang19_s4_rc2chp": dict(TINY, synthetic_num_train=64, batch_size=8, image_size=32, resnet_width=4,
                             respel_width=16, folding_width=16, joint_width=16, pose_decoder_width=16,
                             heatmap_size=16, num_points=32, latent_dim=8, heatmap_decoder_channels=16),
}
TIMING_KEYS = {"step", "steps_per_sec", "samples_per_sec"}


def experiment_config(name: str, data_dir: str):
    from jaxhands.configs import get_config

    config = get_config(name)
    config.update(EXPERIMENTS[name])
    config.data_dir = str(data_dir)
    return config


def logged_losses(name: str, data_dir: str) -> dict[str, list[float]]:
    """{metric name: values at the 50 logged steps} for every term the run logs (losses, KL,
    reconstruction, spread), timings left out."""
    from jaxhands.training.loop import train

    config = experiment_config(name, data_dir)
    with tempfile.TemporaryDirectory() as workdir:
        train(config, workdir, progress=False)
        rows = [json.loads(line) for line in pathlib.Path(workdir, "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "step" in r and not any(k.startswith("eval/") for k in r)]
    keys = sorted({k for r in rows for k in r} - TIMING_KEYS)
    return {k: [float(r[k]) for r in rows if k in r] for k in keys}


def main():
    from tests.command_lines import compile_fast_in_this_process

    compile_fast_in_this_process()  # before jax starts, as in tests/conftest.py
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    recorded = {name: logged_losses(name, args.data_dir) for name in EXPERIMENTS}
    pathlib.Path(args.out).write_text(json.dumps(recorded, indent=1) + "\n")
    for name, losses in recorded.items():
        print(name, {k: len(v) for k, v in losses.items()})


if __name__ == "__main__":
    main()
