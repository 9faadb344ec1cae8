"""How XLA's CPU convolutions compare with the same convolutions written as one matmul
over shifted slices (im2col, `jaxhands.models.im2col.conv_as_matmul`), forward + backward,
in a ResNet-18 trunk at the RGB benchmark's sizes (issue 17: the ResNet step was 0.51 x
PyTorch on this CPU).

    python benchmarks/conv_lowering.py [--size 128] [--batch 32] [--width 64] [--rounds 5] [--out FILE.json]

Both sides compute the same function (equal in float64; checked before timing to 1 % of
the gradients' norm in float32): the
trunk of `jaxhands.models.resnet.ResNet` (7x7/2 stem, 3x3/2 max pool, 4 stages of 2 basic
blocks, global average pool) with batch-statistics normalisation, loss = mean of the
pooled features squared, gradient w.r.t. every kernel, jitted. `xla` uses
`lax.conv_general_dilated` (what `flax.linen.Conv` lowers to); `im2col` pads the input,
stacks the kh * kw strided slices along the channels and multiplies by the kernel
reshaped to [kh * kw * C, O] (backward: the slices' transpose is a pad / add, and the
kernel gradient one matmul). The max-pool is reduce_window on both sides (the library's
im2col lowering also swaps it; benchmarks/train_step_rgb3d.py --conv xla im2col times the
whole step). Timed interleaved over rounds (benchmarks/interleaved.py);
prints each side's median and the median ratio, and per layer shape the same for one
convolution alone.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys

import jax
import jax.numpy as jnp
import numpy as np

from interleaved import describe, interleaved_times, median_ratio

from jaxhands.models.im2col import conv_as_matmul


def conv_xla(x, kernel, stride, padding):
    return jax.lax.conv_general_dilated(x, kernel, (stride, stride), [(padding, padding)] * 2,
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))


CONVS = {"xla": conv_xla, "im2col": conv_as_matmul}


def resnet18_kernels(rng, width, size):
    """[(name, kernel HWIO, stride, padding, input size in px)] of ResNet-18's convolutions
    for `size` px images, He-initialised."""
    specs = [("stem", 7, 3, width, 2, 3, size)]
    cin, in_size = width, size // 4  # after the stem (/2) and the max-pool (/2)
    for stage in range(4):
        cout = width * 2 ** stage
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            name = f"s{stage + 1}b{block + 1}"
            specs.append((name + "c1", 3, cin, cout, stride, 1, in_size))
            specs.append((name + "c2", 3, cout, cout, 1, 1, in_size // stride))
            if stride != 1 or cin != cout:
                specs.append((name + "proj", 1, cin, cout, stride, 0, in_size))
            cin, in_size = cout, in_size // stride
    return [(name, jnp.asarray(rng.normal(0, np.sqrt(2.0 / (k * k * ci)), (k, k, ci, co)).astype(np.float32)),
             stride, pad, in_size) for name, k, ci, co, stride, pad, in_size in specs]


def _norm(x):
    mean = jnp.mean(x, axis=(0, 1, 2))
    var = jnp.var(x, axis=(0, 1, 2))
    return (x - mean) * jax.lax.rsqrt(var + 1e-5)


def trunk_loss(kernels, x, layout, conv):
    """ResNet-18 trunk with batch-statistics normalisation; mean squared pooled feature.
    layout: [(name, stride, padding)] as from `resnet18_kernels`, in order."""
    convs = iter(zip(kernels, layout))

    def apply(h):
        kernel, (_, stride, pad) = next(convs)
        return conv(h, kernel, stride, pad)

    h = jax.nn.relu(_norm(apply(x)))
    h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 3, 3, 1), (1, 2, 2, 1), ((0, 0), (1, 1), (1, 1), (0, 0)))
    names = [name for name, _, _ in layout]
    i = 1
    while i < len(names):
        has_proj = i + 2 < len(names) and names[i + 2].endswith("proj")
        y = jax.nn.relu(_norm(apply(h)))
        y = _norm(apply(y))
        shortcut = _norm(apply(h)) if has_proj else h
        h = jax.nn.relu(y + shortcut)
        i += 3 if has_proj else 2
    return jnp.mean(jnp.mean(h, axis=(1, 2)) ** 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    layers = resnet18_kernels(rng, args.width, args.size)
    layout = [(name, stride, pad) for name, _, stride, pad, _ in layers]
    kernels = [kernel for _, kernel, _, _, _ in layers]
    x = jnp.asarray(rng.normal(0, 1, (args.batch, args.size, args.size, 3)).astype(np.float32))

    steps = {name: jax.jit(jax.value_and_grad(lambda ks, x, conv=conv: trunk_loss(ks, x, layout, conv)))
             for name, conv in CONVS.items()}
    values = {name: step(kernels, x) for name, step in steps.items()}
    loss_ref, grads_ref = values["xla"]
    for name, (loss, grads) in values.items():
        np.testing.assert_allclose(loss, loss_ref, rtol=1e-3, err_msg=name)
        for g, g_ref in zip(grads, grads_ref):  # float32 sums in another order: compare norms
            error = float(jnp.linalg.norm(g - g_ref) / jnp.linalg.norm(g_ref))
            if error > 1e-2:
                raise AssertionError(f"{name}: kernel gradient differs from xla's by {error:.2%} (relative norm)")

    def runner(step):
        def run(n):
            for _ in range(n):
                out = step(kernels, x)
            jax.block_until_ready(out)
        return run

    lines = [f"jax {jax.__version__}; ResNet-18 trunk fwd + bwd, {args.size} px, batch {args.batch}, "
             f"width {args.width}; {args.steps} steps a round"]
    times = interleaved_times({name: runner(step) for name, step in steps.items()}, args.steps, args.rounds)
    for name in CONVS:
        lines.append(f"  trunk {name:7s} {describe(times, name)}")
    trunk_ratio = median_ratio(times, "im2col", "xla")
    lines.append(f"  trunk im2col / xla: {trunk_ratio:.2f}")

    per_layer = []
    seen = set()
    for (name, kernel, stride, pad, in_size) in layers:
        k, _, cin, cout = kernel.shape
        key = (k, cin, cout, stride, in_size)
        if key in seen:
            continue
        seen.add(key)
        xin = jnp.asarray(rng.normal(0, 1, (args.batch, in_size, in_size, cin)).astype(np.float32))
        layer_steps = {cname: jax.jit(jax.value_and_grad(
            lambda kk, xx, conv=conv, s=stride, p=pad: jnp.mean(conv(xx, kk, s, p) ** 2), argnums=(0, 1)))
            for cname, conv in CONVS.items()}

        def layer_runner(step, kernel=kernel, xin=xin):
            def run(n):
                for _ in range(n):
                    out = step(kernel, xin)
                jax.block_until_ready(out)
            return run

        lt = interleaved_times({c: layer_runner(s) for c, s in layer_steps.items()}, args.steps, args.rounds)
        ratio = median_ratio(lt, "im2col", "xla")
        row = dict(layer=name, kernel=k, cin=cin, cout=cout, stride=stride, in_size=in_size,
                   xla_ms=1000 * statistics.median(lt["xla"]) / args.steps,
                   im2col_ms=1000 * statistics.median(lt["im2col"]) / args.steps, ratio=ratio)
        per_layer.append(row)
        lines.append(f"  {name:7s} {k}x{k}/{stride} {cin:4d}->{cout:4d} at {in_size:3d} px: xla {row['xla_ms']:7.1f} ms"
                     f"  im2col {row['im2col_ms']:7.1f} ms  ratio {ratio:.2f}")
    print("\n".join(lines))
    if args.out:
        args.out.write_text(json.dumps(dict(command="python " + " ".join(sys.argv), output=lines,
                                            trunk_ms={n: 1000 * statistics.median(v) / args.steps
                                                      for n, v in times.items()},
                                            trunk_ratio_im2col_over_xla=trunk_ratio, per_layer=per_layer),
                                       indent=1) + "\n")


if __name__ == "__main__":
    main()
