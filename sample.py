"""Sample a trained cross-modal VAE: prior samples and latent walks, drawn as 3D skeletons.

    python sample.py --workdir DIR [--num-prior 16] [--walk-steps 8] [--pairs 3] [--seed 0]

Writes DIR/samples/prior.png (poses decoded from z ~ N(0, I)) and
DIR/samples/walk_<k>.png (poses decoded along the line between the posterior means
of two test inputs, Spurr et al. Fig. 6; first/last panels are the reconstructions
of the two inputs, the ones between are purely generated), plus the arrays as .npz.
Poses are drawn in the model's pose space (root-relative, scale-normalised when
the T and S invariances are on).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=pathlib.Path, required=True)
    parser.add_argument("--num-prior", type=int, default=16)
    parser.add_argument("--walk-steps", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=3, help="number of latent walks (pairs of test inputs)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import jax
    import ml_collections
    import numpy as np

    from jaxhands.evaluation.plots import plot_skeleton_grid
    from jaxhands.training import sharding
    from jaxhands.training.checkpoints import Checkpointer
    from jaxhands.training.experiment import build_experiment
    from jaxhands.training.loop import initial_state

    config = ml_collections.ConfigDict(json.loads((args.workdir / "config.json").read_text()))
    experiment = build_experiment(config)
    method = experiment.method
    if not hasattr(method, "latent_walk"):
        raise SystemExit(f"method {config.method!r} has no latent space to sample")
    mesh = sharding.make_mesh()
    state = initial_state(experiment, config, mesh)
    checkpointer = Checkpointer(args.workdir)
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), state)
    state = checkpointer.restore(abstract)
    checkpointer.close()
    out = args.workdir / "samples"
    out.mkdir(parents=True, exist_ok=True)

    prior = np.asarray(method.sample_prior(state.params, state.model_state, jax.random.key(args.seed), args.num_prior))
    plot_skeleton_grid(list(prior), out / "prior.png", ncols=min(8, args.num_prior),
                       title=f"{config.get('name', config.method)}: decoded prior samples z ~ N(0, I)")
    batch = next(iter(experiment.eval_batches()))
    batch.pop("valid")
    rng = np.random.default_rng(args.seed)
    walks = []
    for k in range(args.pairs):
        a, b = rng.choice(batch["keypoints_3d"].shape[0], 2, replace=False)
        one = lambda i: {key: v[i:i + 1] for key, v in batch.items()}  # noqa: E731
        walk = np.asarray(method.latent_walk(state.params, state.model_state, one(a), one(b), args.walk_steps))
        walks.append(walk)
        titles = ["recon A"] + [f"t={t:.2f}" for t in np.linspace(0, 1, args.walk_steps)[1:-1]] + ["recon B"]
        plot_skeleton_grid(list(walk), out / f"walk_{k}.png", ncols=args.walk_steps, titles=titles,
                           title=f"latent walk between test samples {a} and {b} ({method.predict_from} encoder)")
    np.savez_compressed(out / "samples.npz", prior=prior, walks=np.stack(walks))
    print(f"wrote {out / 'prior.png'} and {args.pairs} latent walks in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
