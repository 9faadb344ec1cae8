"""Train-step throughput of the 2D -> 3D cross-modal VAE (Spurr Table 3 MLPs, latent 64,
batch 64, Adam), jaxhands (jitted) vs the same model in PyTorch, on this CPU.

    python benchmarks/train_step_2d3d.py [--batch 64] [--steps 200] [--rounds 5] [--threads N]
        [--torch-device cpu|cuda] [--loop-steps 1500]

PyTorch is a benchmark-only extra (`pip install torch==2.13.0`), never a dependency.
Both run one (encoder, decoder) pair update per step (Alg. 1, Var. 1): forward,
reparameterised sample, squared error + KL, backward, Adam. The two sides alternate over
--rounds rounds of `--steps` steps (benchmarks/interleaved.py); the medians of each side's
time and of the per-round ratio are reported, compile/warm-up excluded.

--loop-steps N > 0 also times the library's whole training loop (`jaxhands.training.loop.train`
on `spurr18_2d_to_3d_var1` over the synthetic dataset: data pipeline, step, metrics, progress),
N steps with the records held in memory (what a keypoint-only pipeline does,
jaxhands.data.pipeline.RecordsInMemory) and N read from their shards at every step (as before),
alternated twice; the rate is the median of the metrics.jsonl windows after the first (which
holds the compile), set against the PyTorch step's.
"""

from __future__ import annotations

import argparse
import statistics

from interleaved import describe, interleaved_times, median_ratio


def jax_runner(batch_size):
    import jax
    import numpy as np

    from jaxhands.configs.spurr18 import cross_modal_config
    from jaxhands.methods.cross_modal import CrossModalVAE
    from jaxhands.training.optimizer import group_optimizers
    from jaxhands.training.state import create_train_state
    from jaxhands.training.step import make_train_step

    config = cross_modal_config("kp2d", 1)
    method = CrossModalVAE(config)
    tx = group_optimizers(method, config)
    rng = np.random.default_rng(0)
    k = np.array([[200.0, 0, 64], [0, 200.0, 64], [0, 0, 1]], np.float32)
    joints = rng.normal(0, 0.03, (batch_size, 21, 3)).astype(np.float32) + np.array([0, 0, 0.5], np.float32)
    batch = {
        "keypoints_3d": joints,
        "keypoints_2d": (joints[..., :2] / joints[..., 2:] * 200 + 64).astype(np.float32),
        "intrinsics": np.broadcast_to(k, (batch_size, 3, 3)).copy(),
        "hand_side": np.zeros(batch_size, np.int32),
        "visible": np.ones((batch_size, 21), bool),
    }
    batch = jax.device_put(batch)
    state = create_train_state(method, tx, jax.random.key(0), batch)
    step = jax.jit(make_train_step(method, tx), donate_argnums=0)
    holder = [state]

    def run(n):
        s = holder[0]
        for _ in range(n):
            s, metrics = step(s, batch)
        jax.block_until_ready(s)
        holder[0] = s
    return run


def torch_runner(batch_size, threads, device="cpu"):
    import torch
    from torch import nn

    if threads:
        torch.set_num_threads(threads)

    def mlp(inp, out, width=512, layers=6):
        mods = []
        for i in range(layers):
            mods += [nn.Linear(inp if i == 0 else width, width), nn.ReLU()]
        return nn.Sequential(*mods, nn.Linear(width, out))

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = mlp(42 + 1, 512, layers=5)  # 5 hidden + the 6th Linear(512) then heads, as in jaxhands
            self.act = nn.ReLU()
            self.mu = nn.Linear(512, 64)
            self.logvar = nn.Linear(512, 64)

        def forward(self, x):
            h = self.act(self.body(x))
            return self.mu(h), self.logvar(h)

    enc, dec = Encoder().to(device), mlp(64, 63).to(device)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-4)
    x = torch.randn(batch_size, 43, device=device)
    y = torch.randn(batch_size, 63, device=device)

    def run(n):
        for _ in range(n):
            mu, logvar = enc(x)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            recon = ((dec(z) - y) ** 2).sum(1).mean()
            kl = (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)).mean()
            loss = recon + 1e-4 * kl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if device != "cpu":
            torch.cuda.synchronize()  # CUDA launches return at once: time the work, not the queue
    return run


def loop_rate(steps: int, in_memory: bool, workdir) -> float:
    """Steps/s of jaxhands.training.loop.train over `steps` steps of the 2D -> 3D config."""
    import json

    import jaxhands
    from jaxhands.data import pipeline
    from jaxhands.training.loop import train

    config = jaxhands.load_config("spurr18_2d_to_3d_var1", [f"num_train_steps={steps}", "log_every=100",
                                                             "eval_every=0", f"checkpoint_every={steps}"])
    original = pipeline._held_in_memory
    if not in_memory:
        pipeline._held_in_memory = lambda source, fields: source
    try:
        train(config, workdir, progress=False)
    finally:
        pipeline._held_in_memory = original
    rates = [json.loads(line)["steps_per_sec"] for line in open(f"{workdir}/metrics.jsonl")]
    return statistics.median(rates[1:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of --steps steps per side")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--torch-device", default="cpu", help="PyTorch's device: cpu, or cuda beside a GPU jax")
    parser.add_argument("--loop-steps", type=int, default=0, help="also time train() over this many steps (0: no)")
    args = parser.parse_args()
    import jax

    print(f"2D -> 3D train step, batch {args.batch}: jax on {jax.devices()[0].device_kind}, torch on "
          f"{args.torch_device}")
    runners = {"jax": jax_runner(args.batch)}
    try:
        import torch

        runners["torch"] = torch_runner(args.batch, args.threads, args.torch_device)
    except ImportError:
        torch = None
    times = interleaved_times(runners, args.steps, args.rounds, warmup_steps=3)

    def rate(name):  # samples/s at the median round
        return args.steps * args.batch / statistics.median(times[name])

    print(f"jaxhands (jax jit)  : {rate('jax'):10.0f} samples/s  {describe(times, 'jax')} of {args.steps} steps")
    if torch is None:
        print("PyTorch not installed (pip install torch==2.13.0 for the comparison)")
        return
    print(f"PyTorch {torch.__version__:11s}: {rate('torch'):10.0f} samples/s  {describe(times, 'torch')} "
          f"({torch.get_num_threads()} threads)")
    print(f"ratio jax / torch samples/s: {median_ratio(times, 'torch', 'jax'):.2f}x (median of per-round ratios)")
    if args.loop_steps:
        import tempfile

        torch_steps = args.steps / statistics.median(times["torch"])
        rates = {"memory": [], "disk": []}
        for _ in range(2):
            for route in rates:
                with tempfile.TemporaryDirectory() as workdir:
                    rates[route].append(loop_rate(args.loop_steps, route == "memory", workdir))
        for route, label in (("memory", "records held in memory"), ("disk", "records read from shards")):
            rate = statistics.median(rates[route])
            print(f"jaxhands train() loop, {label}: {rate:7.1f} steps/s ({rates[route]}), "
                  f"{rate / torch_steps:.2f}x PyTorch's step ({torch_steps:.1f} steps/s)")


if __name__ == "__main__":
    main()
