"""Train-step throughput of the RGB -> 3D cross-modal VAE (ResNet-18 encoder, Spurr Table 3
MLP decoder, latent 64, Adam), jaxhands (jitted) vs the same model in PyTorch, on this CPU
(or, with --torch-device cuda and a GPU jax, on the GPU).

    python benchmarks/train_step_rgb3d.py [--size 128] [--batch 32] [--width 64] [--steps 3] [--threads N]
        [--torch-device cpu|cuda] [--conv xla im2col im2col_body]

PyTorch is a benchmark-only extra (`pip install torch==2.13.0`), never a dependency;
its ResNet-18 is written out here (no torchvision): 7x7/2 stem + BN + ReLU, 3x3/2 max
pool, 4 stages of 2 basic blocks (64, 128, 256, 512 channels x width/64), global
average pool, hand-side flag, Linear mu / logvar heads; decoder 6 x Linear(512)+ReLU,
Linear(63). Both run one rgb -> kp3d pair update per step (Alg. 1, Var. 1): forward in
train mode (batch statistics), reparameterised sample, squared error + beta KL,
backward, Adam. The two sides alternate over --rounds rounds of `--steps` steps
(benchmarks/interleaved.py); the medians of each side's time and of the per-round ratio
are reported, warm-up excluded. `--conv` times the jax side once per ResNet lowering
(`config.resnet_lowering`: "xla", flax's convolutions and max-pool; "im2col", over shifted
slices, jaxhands.models.im2col; "im2col_body", the same but the stem's convolution XLA's),
all sides interleaved.
"""

from __future__ import annotations

import argparse
import statistics

from interleaved import describe, interleaved_times, median_ratio


def make_batch(batch_size, size):
    import numpy as np

    rng = np.random.default_rng(0)
    joints = rng.normal(0, 0.03, (batch_size, 21, 3)).astype(np.float32) + np.array([0, 0, 0.5], np.float32)
    return {
        "image": rng.integers(0, 256, (batch_size, size, size, 3)).astype(np.uint8),
        "keypoints_3d": joints,
        "keypoints_2d": np.zeros((batch_size, 21, 2), np.float32),
        "intrinsics": np.tile(np.eye(3, dtype=np.float32), (batch_size, 1, 1)),
        "hand_side": rng.integers(0, 2, batch_size).astype(np.int32),
        "visible": np.ones((batch_size, 21), bool),
    }


def jax_runner(batch_size, size, width, conv="xla"):
    import jax

    from jaxhands.configs.spurr18 import image_cross_modal_config
    from jaxhands.methods.cross_modal import CrossModalVAE
    from jaxhands.training.optimizer import group_optimizers
    from jaxhands.training.state import create_train_state
    from jaxhands.training.step import make_train_step

    config = image_cross_modal_config("rgb", 1, image_size=size)
    config.resnet_width = width
    config.resnet_lowering = conv
    config.batch_size = batch_size
    method = CrossModalVAE(config)
    tx = group_optimizers(method, config)
    batch = jax.device_put(make_batch(batch_size, size))
    state = jax.jit(lambda r, b: create_train_state(method, tx, r, b))(jax.random.key(0), batch)
    step = jax.jit(make_train_step(method, tx), donate_argnums=0)
    holder = [state]

    def run(n):
        s = holder[0]
        for _ in range(n):
            s, metrics = step(s, batch)
        jax.block_until_ready(s)
        holder[0] = s
    return run


def torch_runner(batch_size, size, width, threads, device="cpu"):
    import torch
    from torch import nn

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.proj = None
            if stride != 1 or cin != cout:
                self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return torch.relu(y + (x if self.proj is None else self.proj(x)))

    class Encoder(nn.Module):
        def __init__(self, latent=64):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                                      nn.MaxPool2d(3, 2, 1))
            blocks, cin = [], width
            for stage in range(4):
                cout = width * 2 ** stage
                blocks += [Block(cin, cout, 2 if stage else 1), Block(cout, cout, 1)]
                cin = cout
            self.blocks = nn.Sequential(*blocks)
            self.mu = nn.Linear(cin + 1, latent)
            self.logvar = nn.Linear(cin + 1, latent)

        def forward(self, x, hand):
            h = self.blocks(self.stem(x)).mean(dim=(2, 3))
            h = torch.cat([h, hand[:, None]], 1)
            return self.mu(h), self.logvar(h)

    layers, cin = [], 64
    for _ in range(6):
        layers += [nn.Linear(cin, 512), nn.ReLU()]
        cin = 512
    decoder = nn.Sequential(*layers, nn.Linear(512, 63))
    encoder, decoder = Encoder().to(device), decoder.to(device)
    params = list(encoder.parameters()) + list(decoder.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    batch = make_batch(batch_size, size)
    x = (torch.from_numpy(batch["image"]).permute(0, 3, 1, 2).float() / 255.0 - 0.5).to(device)
    hand = torch.from_numpy(batch["hand_side"]).float().to(device)
    target = torch.from_numpy(batch["keypoints_3d"]).reshape(batch_size, -1).to(device)
    encoder.train()
    decoder.train()

    def run(n):
        for _ in range(n):
            opt.zero_grad()
            mu, logvar = encoder(x, hand)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            recon = ((decoder(z) - target) ** 2).sum(1).mean()
            kl = (-0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1)).mean()
            (recon + 1e-4 * kl).backward()
            opt.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()  # CUDA launches return at once: time the work, not the queue
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--width", type=int, default=64, help="ResNet first-stage channels (64: ResNet-18)")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of --steps steps per side")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch default)")
    parser.add_argument("--torch-device", default="cpu", help="PyTorch's device: cpu, or cuda beside a GPU jax")
    parser.add_argument("--conv", nargs="+", default=["xla"], choices=["xla", "im2col", "im2col_body"],
                        help="the jax side's ResNet lowerings (config.resnet_lowering), each timed")
    args = parser.parse_args()
    import os

    import jax

    print(f"RGB -> 3D train step, ResNet-18 (width {args.width}) at {args.size}x{args.size}, batch {args.batch}, "
          f"jax on {jax.devices()[0].device_kind}, torch on {args.torch_device} ({os.cpu_count()} CPU cores; "
          "timings are noisy on a shared machine)")
    sides = {f"jax[{conv}]": conv for conv in args.conv}
    runners = {side: jax_runner(args.batch, args.size, args.width, conv) for side, conv in sides.items()}
    try:
        runners["torch"] = torch_runner(args.batch, args.size, args.width, args.threads, args.torch_device)
    except ImportError:
        pass
    times = interleaved_times(runners, args.steps, args.rounds)

    def rate(name):  # samples/s at the median round
        return args.batch * args.steps / statistics.median(times[name])

    for side in sides:
        print(f"  jaxhands (jit, resnet_lowering={sides[side]}): {rate(side):8.1f} samples/s  "
              f"({describe(times, side)} of {args.steps} steps)")
    if "torch" not in runners:
        print("  PyTorch not installed (pip install torch): no reference")
        return
    print(f"  PyTorch (eager): {rate('torch'):7.1f} samples/s  ({describe(times, 'torch')})")
    for side in sides:
        print(f"  ratio jaxhands (resnet_lowering={sides[side]}) / PyTorch: {median_ratio(times, 'torch', side):.2f}x "
              "(median of per-round ratios)")


if __name__ == "__main__":
    main()
