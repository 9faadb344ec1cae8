"""Sample a trained cross-modal VAE: prior samples and latent walks, drawn as 3D skeletons.

    python sample.py --workdir=DIR [--step=N|best] [--num_prior=16] [--walk_steps=8] [--pairs=3] [--seed=0]

Writes DIR/samples/prior.png (poses decoded from z ~ N(0, I)) and
DIR/samples/walk_<k>.png (poses decoded along the line between the posterior means
of two test inputs, Spurr et al. Fig. 6; first/last panels are the reconstructions
of the two inputs, the ones between are purely generated), plus the arrays as .npz.
Poses are drawn in the model's pose space (root-relative, scale-normalised when
the T and S invariances are on).
"""

from __future__ import annotations

import sys
from absl import app, flags

from jaxhands.cli_logging import configure_cli_logging

flags.DEFINE_string("workdir", None, "Training workdir to sample.", required=True)
flags.DEFINE_string("step", None, "Checkpoint step, or 'best' (the lowest validation EPE; a run trained with "
                    "--config.keep_best_checkpoint); default: the latest.")
flags.DEFINE_integer("num_prior", 16, "Number of prior samples.")
flags.DEFINE_integer("walk_steps", 8, "Poses along each latent walk, ends included.")
flags.DEFINE_integer("pairs", 3, "Number of latent walks (pairs of test inputs).")
flags.DEFINE_integer("seed", 0, "Seed of the prior samples and of the test pairs.")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}")
    configure_cli_logging()
    import pathlib

    import jax
    import numpy as np

    from jaxhands.evaluation.plots import plot_skeleton_grid
    from jaxhands.runs import load_run, parse_step
    from jaxhands.training.experiment import build_experiment

    try:
        step = parse_step(FLAGS.step)
    except ValueError as err:
        raise app.UsageError(str(err)) from None
    run = load_run(FLAGS.workdir, step)
    method = run.method
    from jaxhands.methods.base import FactorisedLatent, LatentModel, RendersImages

    if not isinstance(method, LatentModel):
        raise SystemExit(f"method {run.config.method!r} has no latent space to sample")
    out = pathlib.Path(FLAGS.workdir) / "samples"
    out.mkdir(parents=True, exist_ok=True)

    prior = np.asarray(method.sample_prior(run.params, run.model_state, jax.random.key(FLAGS.seed), FLAGS.num_prior))
    plot_skeleton_grid(list(prior), out / "prior.png", ncols=min(8, FLAGS.num_prior),
                       title=f"{run.config.name} step {run.step}: decoded prior samples z ~ N(0, I)")
    batch = next(iter(build_experiment(run.config).eval_batches()))
    batch.pop("valid")
    rng = np.random.default_rng(FLAGS.seed)
    walks = []
    for k in range(FLAGS.pairs):
        a, b = rng.choice(batch["keypoints_3d"].shape[0], 2, replace=False)
        one = lambda i: {key: v[i:i + 1] for key, v in batch.items()}  # noqa: E731
        walk = np.asarray(method.latent_walk(run.params, run.model_state, one(a), one(b), FLAGS.walk_steps))
        walks.append(walk)
        titles = ["recon A"] + [f"t={t:.2f}" for t in np.linspace(0, 1, FLAGS.walk_steps)[1:-1]] + ["recon B"]
        plot_skeleton_grid(list(walk), out / f"walk_{k}.png", ncols=FLAGS.walk_steps, titles=titles,
                           title=f"latent walk between test samples {a} and {b} ({method.predict_from} encoder)")
    arrays = {"prior": prior, "walks": np.stack(walks)}
    if isinstance(method, FactorisedLatent):  # Yang & Yao Fig. 6: one factor moves, the others stay A's
        arrays.update(factor_walk_pictures(method, run, batch, out, np.random.default_rng(FLAGS.seed)))
    if hasattr(method, "transfer"):  # Yang & Yao Fig. 6: one image's hand on another's content
        arrays.update(transfer_pictures(method, run, batch, out, np.random.default_rng(FLAGS.seed)))
    if isinstance(method, RendersImages):  # the same walks and samples, rendered (Wan et al. Fig. 1)
        for modality in method.rendered_modalities:
            arrays.update(render_pictures(method, run, batch, modality, out, np.random.default_rng(FLAGS.seed)))
    np.savez_compressed(out / "samples.npz", **arrays)
    print(f"wrote {out / 'prior.png'} and {FLAGS.pairs} latent walks in {out}")


def factor_walk_pictures(method, run, batch, out, rng) -> dict:
    """{factor}_walks.png for each factor of z: row k walks only that factor from test
    pose a_k's posterior mean to b_k's (the factor encoders' posterior, from the 3D pose),
    the other factors staying a_k's."""
    import numpy as np

    from jaxhands.evaluation.plots import plot_depth_rows, plot_skeleton_grid

    n = batch["keypoints_3d"].shape[0]
    a = rng.choice(n, FLAGS.pairs, replace=False)
    b = (a + rng.integers(1, n, FLAGS.pairs)) % n
    take = lambda idx: {key: v[idx] for key, v in batch.items()}  # noqa: E731
    arrays = {}
    for factor in method.factor_names:
        walks = np.asarray(method.factor_walk(run.params, run.model_state, take(a), take(b), FLAGS.walk_steps,
                                              factor=factor))
        titles = [f"{a[k]}->{b[k]} t={t:.2f}" if i == 0 else f"t={t:.2f}"
                  for k in range(FLAGS.pairs) for i, t in enumerate(np.linspace(0, 1, FLAGS.walk_steps))]
        plot_skeleton_grid(list(walks.reshape(-1, *walks.shape[2:])), out / f"{factor}_walks.png",
                           ncols=FLAGS.walk_steps, titles=titles,
                           title=f"{run.config.name} step {run.step}: only z_{factor} moves from A to B (rows)")
        arrays[f"{factor}_walks"] = walks
        for modality in getattr(method, "rendered_modalities", ()):  # the same walks as images (Fig. 4)
            images = np.asarray(method.factor_walk(run.params, run.model_state, take(a), take(b), FLAGS.walk_steps,
                                                   factor=factor, modality=modality))
            plot_depth_rows(list(images), out / f"{factor}_walks_{modality}.png", row_titles=[
                f"{a[k]}->{b[k]}" for k in range(FLAGS.pairs)], column_titles=[
                f"t={t:.2f}" for t in np.linspace(0, 1, FLAGS.walk_steps)],
                title=f"{run.config.name} step {run.step}: only z_{factor} moves, decoded as {modality}")
            arrays[f"{factor}_walks_{modality}"] = images
    return arrays


def transfer_pictures(method, run, batch, out, rng) -> dict:
    """transfers.png: test images A (the pose), B (the content) and the decode of
    [z_pose(A), z_content(B)], from the pose and tag encoders and from the image encoder."""
    import numpy as np

    from jaxhands.evaluation.plots import plot_depth_rows

    n = min(8, batch["image"].shape[0])
    a = rng.choice(batch["image"].shape[0], n, replace=False)
    b = np.roll(a, 1)
    take = lambda idx: {key: v[idx] for key, v in batch.items()}  # noqa: E731
    real = np.asarray(batch["image"], np.float32) / 255.0 - 0.5
    from_labels = np.asarray(method.transfer(run.params, run.model_state, take(a), take(b), source="labels"))
    from_images = np.asarray(method.transfer(run.params, run.model_state, take(a), take(b), source="rgb"))
    plot_depth_rows([real[a], real[b], from_labels, from_images], out / "transfers.png",
                    row_titles=["pose A", "content B", "from labels", "from images"],
                    title=f"{run.config.name} step {run.step}: A's hand on B's content")
    return {"transfers_from_labels": from_labels, "transfers_from_images": from_images}


def render_pictures(method, run, batch, modality: str, out, rng) -> dict:
    """{modality}_walks.png: each row a latent walk between two test inputs rendered as
    `modality` maps, the real inputs at its ends; {modality}_prior.png: prior samples
    rendered; {modality}_reconstructions.png: test maps above their decode(encode(x))."""
    import jax
    import numpy as np

    from jaxhands.evaluation.plots import plot_depth_rows

    def one(i):
        return {key: v[i:i + 1] for key, v in batch.items()}
    rows, walks, titles = [], [], []
    if modality == "depth":
        real = np.asarray(method.depth_input(batch))
    elif modality == "rgb":
        real = np.asarray(batch["image"], np.float32) / 255.0 - 0.5
    else:
        real = np.asarray(batch[modality])
    for _ in range(FLAGS.pairs):
        a, b = rng.choice(real.shape[0], 2, replace=False)
        walk = np.asarray(method.latent_walk(run.params, run.model_state, one(a), one(b), FLAGS.walk_steps,
                                             modality=modality))
        walks.append(walk)
        rows.append([real[a], *walk, real[b]])
        titles.append(f"{a} -> {b}")
    columns = ["input A"] + [f"t={t:.2f}" for t in np.linspace(0, 1, FLAGS.walk_steps)] + ["input B"]
    plot_depth_rows(rows, out / f"{modality}_walks.png", row_titles=titles, column_titles=columns,
                    title=f"{run.config.name} step {run.step}: latent walks rendered as {modality} maps")
    prior = np.asarray(method.sample_prior(run.params, run.model_state, jax.random.key(FLAGS.seed + 1),
                                           FLAGS.num_prior, modality=modality))
    ncols = min(8, FLAGS.num_prior)
    plot_depth_rows([prior[i:i + ncols] for i in range(0, len(prior), ncols)], out / f"{modality}_prior.png",
                    title=f"{run.config.name} step {run.step}: prior samples rendered as {modality} maps")
    n = min(8, real.shape[0])
    (z, _), _ = method.encode(run.params, run.model_state, method.predict_from, {k: v[:n] for k, v in batch.items()})
    recon = np.asarray(method.decode(run.params, run.model_state, modality, z)[0])
    plot_depth_rows([real[:n], recon], out / f"{modality}_reconstructions.png", row_titles=["input", "decoded"],
                    title=f"{run.config.name} step {run.step}: test {modality} maps and decode(encode(x))")
    return {f"{modality}_walks": np.stack(walks), f"{modality}_prior": prior, f"{modality}_reconstructions": recon}


def run() -> None:
    """The `sample` command (`python sample.py` and the `jaxhands-sample` entry point)."""
    # absl prints the __main__ module's docstring for --help: make it this one, whichever
    # wrapper (the top-level script or the console entry point) started the process.
    sys.modules["__main__"].__doc__ = __doc__
    from jaxhands.cli_errors import reporting_user_errors

    app.run(reporting_user_errors("sample.py", main, lambda: FLAGS.workdir or "."))


if __name__ == "__main__":
    run()
