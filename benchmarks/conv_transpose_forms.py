"""The stride-2, 4x4 transposed convolution of the decoders in its two equivalent forms,
value + gradient (what a training step runs), per layer of the decoders the configs use.

    python benchmarks/conv_transpose_forms.py [--batch 32] [--steps 5] [--rounds 5]

subpixel: one stride-1 3x3 convolution to 4 x cout channels and a depth-to-space
  (`subpixel_conv_transpose`; 20 of the 36 taps per output pixel multiply zeros);
phase: one 2x2 convolution per output phase, interleaved (`phase_conv_transpose`, what
  `ConvTranspose4x4` runs).
Layers: the Yang et al. heatmap decoder (256 channels at 4x4 -> 21 maps at 32x32) and the
Spurr Var. 3 image decoder at 64 px (256 -> 3 channels), batch 32. The two forms alternate
within each round (benchmarks/interleaved.py); medians over rounds, and each layer's
ratio subpixel / phase (> 1: the phase form is faster).
"""

from __future__ import annotations

import argparse
import statistics

from interleaved import interleaved_times, median_ratio

# (input side, cin, cout): the decoders' layers (jaxhands.models.image_decoder.UpsamplingDecoder)
LAYERS = {
    "heatmap 32 px": [(4, 256, 128), (8, 128, 64), (16, 64, 21)],
    "image 64 px (Spurr Var. 3)": [(4, 256, 128), (8, 128, 64), (16, 64, 32), (32, 32, 3)],
}


def runner(form, x, kernel):
    import jax
    import jax.numpy as jnp

    from jaxhands.models.image_decoder import PHASE_TAPS_4X4

    grad = jax.jit(jax.grad(lambda x, k: jnp.sum(jnp.square(form(x, k, PHASE_TAPS_4X4))), argnums=(0, 1)))

    def run(n):
        for _ in range(n):
            out = grad(x, kernel)
        jax.block_until_ready(out)
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import jax

    from jaxhands.models.image_decoder import phase_conv_transpose, subpixel_conv_transpose

    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; value + gradient, batch {args.batch}; "
          f"median ms per call over {args.rounds} interleaved rounds of {args.steps}")
    for decoder, layers in LAYERS.items():
        totals = {"subpixel": 0.0, "phase": 0.0}
        for side, cin, cout in layers:
            x = jax.random.normal(jax.random.key(0), (args.batch, side, side, cin))
            kernel = 0.05 * jax.random.normal(jax.random.key(1), (4, 4, cin, cout))
            times = interleaved_times({"subpixel": runner(subpixel_conv_transpose, x, kernel),
                                       "phase": runner(phase_conv_transpose, x, kernel)}, args.steps, args.rounds)
            ms = {k: 1000 * statistics.median(v) / args.steps for k, v in times.items()}
            for k in totals:
                totals[k] += ms[k]
            print(f"  {decoder:28s} {side:3d}x{side:<3d} {cin:4d} -> {cout:4d}: subpixel {ms['subpixel']:7.1f}  "
                  f"phase {ms['phase']:7.1f}  ratio {median_ratio(times, 'subpixel', 'phase'):5.2f}", flush=True)
        print(f"  {decoder:28s} all layers: subpixel {totals['subpixel']:7.1f}  phase {totals['phase']:7.1f}  "
              f"ratio {totals['subpixel'] / totals['phase']:5.2f}")


if __name__ == "__main__":
    main()
