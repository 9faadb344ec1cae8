"""A trained run as a value: `load_run(workdir)` -> config, method, params, model state.

    run = jaxhands.load_run("workdirs/var3")           # latest checkpoint
    run = jaxhands.load_run("workdirs/var3", step=1500)
    joints = run.method.predict(run.params, run.model_state, batch)

Only what prediction needs is read: the checkpoint's params, model state and step (orbax
partial restore), never the optimizer state, and no data — shapes come from the config
(jaxhands.data.schema.shape_batch), so a run loads on a machine without its dataset.
`untrained=True` gives the parameters training started from (same seed, same init).
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import jax
import ml_collections

from jaxhands.configs import load_config
from jaxhands.data.schema import shape_batch
from jaxhands.training.state import jit_run_once


class NotAWorkdirError(FileNotFoundError):
    """The folder given as a training workdir holds no run (no config.json)."""


@dataclasses.dataclass(frozen=True)
class TrainedRun:
    workdir: pathlib.Path
    config: ml_collections.ConfigDict
    method: Any  # jaxhands.methods.base.Method
    params: dict
    model_state: dict
    step: int  # updates the parameters have seen; 0 = untrained


def parse_step(text: str | None) -> int | str | None:
    """A command line's --step: a checkpoint step, "best", or None/"" (the latest)."""
    if text is None or text == "":
        return None
    if text == "best":
        return text
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--step must be a checkpoint step (an integer) or 'best', got {text!r}") from None


def load_run(workdir: str | pathlib.Path, step: int | str | None = None, *, untrained: bool = False,
             device: jax.Device | None = None) -> TrainedRun:
    """The run in `workdir` at checkpoint `step` (default: the latest; "best": the one with
    the lowest validation EPE, kept by config.keep_best_checkpoint), on `device` (default:
    the first local device). Raises FileNotFoundError naming the folder when there is no
    config.json or no checkpoint, and ValueError for a step not saved."""
    from jaxhands.training.checkpoints import BEST_METRIC, Checkpointer
    from jaxhands.methods.registry import build_method

    workdir = pathlib.Path(workdir)
    if not (workdir / "config.json").is_file():
        raise NotAWorkdirError(f"{workdir / 'config.json'} not found: is {workdir} a training workdir "
                                "(python train.py --workdir ...)?")
    config = load_config(workdir)
    method = build_method(config)
    if untrained:
        return TrainedRun(workdir, config, method, *initial_params(method, config), 0)
    device = device or jax.local_devices()[0]
    placement = jax.sharding.SingleDeviceSharding(device)
    # The checkpoint gives the values: only the shapes of init are needed, so init is traced,
    # never compiled (XLA's compile of a ResNet init is 5-12 s on 2 CPU cores).
    params, model_state = jax.eval_shape(method.init, jax.random.key(0), shape_batch(config.image_size, config.num_points))
    abstract = {"params": params, "model_state": model_state, "step": jax.ShapeDtypeStruct((), jax.numpy.int32)}
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=placement), abstract)
    if isinstance(step, str) and step != "best":
        raise ValueError(f"load_run: step must be a checkpoint step, None (the latest) or 'best', got {step!r}")
    checkpointer = Checkpointer(workdir)
    try:
        if step == "best":
            step = checkpointer.best_step(BEST_METRIC)
        restored = checkpointer.restore_subset(abstract, step)
    finally:
        checkpointer.close()
    return TrainedRun(workdir, config, method, restored["params"], restored["model_state"], int(restored["step"]))


def initial_params(method, config: ml_collections.ConfigDict) -> tuple[dict, dict]:
    """(params, model_state) exactly as `train()` initialises them for `config.seed`
    (jaxhands.training.state.create_train_state): init depends on shapes, not values."""
    init_rng, _ = jax.random.split(jax.random.key(config.seed))
    return jit_run_once(method.init)(init_rng, shape_batch(config.image_size, config.num_points))
