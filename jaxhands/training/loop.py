"""The training loop: one loop for every method.

    state <- restore latest checkpoint from <workdir>/checkpoints, or init (+ config.init_from)
    for step in [state.step, num_train_steps):
        phase <- method.phase_schedule.index(step)  (host integers, no device round-trip)
        batch <- the phase's named stream at its position (pure in (seed, position): resume-safe)
        state, metrics <- that phase's jitted step (per-group optimizers, global-step rates)
        every log_every: summarise, check for NaN/Inf, write metrics.jsonl, progress bar,
            warn if a pose prediction's spread stays ~0 (jaxhands.training.collapse)
        every eval_every: quick test-set EPE on `eval_num_batches` batches
        every checkpoint_every: async orbax save (after the NaN check)
        SIGTERM / Ctrl-C / pod preemption: save at this step, raise TrainingStopped
    final save, wait for pending writes.

A resumed run continues the same data order and RNG stream (fold_in(rng, step)), so
its parameters equal those of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import pathlib
import time

import jax
import ml_collections
import numpy as np
from tqdm.auto import tqdm

from jaxhands.configs import workdir_record
from jaxhands.configs.loader import ConfigError, load_config
from jaxhands.training import sharding
from jaxhands.evaluation.spread import batch_spread
from jaxhands.training.checkpoints import BEST_METRIC, Checkpointer
from jaxhands.training.collapse import CollapseMonitor, is_spread_metric
from jaxhands.training.parallel import make_parallel
from jaxhands.training.experiment import Experiment, build_experiment
from jaxhands.training.metrics_log import MetricsWriter, find_nonfinite, stack_history, summarize_phase_metrics
from jaxhands.training.init_from import apply_init_from
from jaxhands.methods.base import InitialisesFromPoses
from jaxhands.training.optimizer import group_optimizers
from jaxhands.training.preemption import StopRequests, TrainingStopped
from jaxhands.training.provenance import record_provenance
from jaxhands.training.tensorboard import TENSORBOARD_DIR, TensorBoardWriter
from jaxhands.training.state import TrainState, count_params, create_train_state, jit_run_once

log = logging.getLogger("jaxhands.train")


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN/Inf; the message names the step, phase and term."""


@dataclasses.dataclass
class TrainResult:
    state: TrainState
    experiment: Experiment
    last_metrics: dict
    steps_run: int
    seconds: float


def initial_state(experiment: Experiment, config: ml_collections.ConfigDict, mesh) -> TrainState:
    """The freshly initialised state, replicated over the mesh (same on every process)."""
    example = experiment.example_batch()
    optimizers = group_optimizers(experiment.method, config)
    rng = jax.random.key(config.seed)
    state = jit_run_once(lambda r, b: create_train_state(experiment.method, optimizers, r, b))(rng, example)
    return sharding.put_replicated(state, mesh)


def restore_latest(checkpointer: Checkpointer, template: TrainState) -> TrainState:
    """The newest checkpoint that restores, into `template`'s structure and shardings;
    damaged newer steps are moved to checkpoints_damaged/ so training can write them again."""
    from orbax.checkpoint import args as ocp_args

    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), template)
    restored, _, damaged = checkpointer.restore_newest_good(
        lambda step: checkpointer.manager.restore(step, args=ocp_args.Composite(
            state=ocp_args.StandardRestore(abstract))))
    if damaged:
        if jax.process_index() == 0:
            log.warning("moved damaged checkpoint step(s) %s to %s", damaged, checkpointer.quarantine(damaged))
        if jax.process_count() > 1:  # every process must see the moved steps before anyone saves
            from jax.experimental import multihost_utils

            multihost_utils.sync_global_devices("jaxhands: damaged checkpoints moved")
        checkpointer.manager.reload()
    return restored["state"]


def make_predict_fn(experiment: Experiment, mesh):
    """predict(params, model_state, global batch) -> per-sample errors and predictions,
    replicated so that every process can read all of them."""
    method = experiment.method

    def predict(params, model_state, batch):
        pred = method.predict(params, model_state, batch)
        return pred, jax.numpy.linalg.norm(pred - batch["keypoints_3d"], axis=-1)
    return jax.jit(predict, out_shardings=sharding.replicated(mesh))


def quick_eval(experiment: Experiment, predict_fn, params, model_state, mesh, num_batches: int) -> dict:
    """Mean/median EPE (mm) over all (defined) joints of the first `num_batches` batches of
    the validation split (val/*) when the experiment holds one, else of the test split
    (eval/*), and the root-relative spread of the predictions and of the ground truth across
    those samples (mm; their ratio ~0 = one constant pose, see jaxhands.evaluation.spread)."""
    split, prefix = ("validation", "val/") if experiment.validation_source is not None else ("test", "eval/")
    errors, preds, targets = [], [], []
    for i, batch in enumerate(experiment.eval_batches(split=split)):
        if i >= num_batches:
            break
        global_batch = sharding.put_batch(batch, mesh)
        pred, err = jax.device_get(predict_fn(params, model_state, global_batch))
        valid = np.asarray(sharding.gather(global_batch["valid"], mesh))
        err = np.asarray(err)[valid]
        target = np.asarray(sharding.gather(global_batch["keypoints_3d"], mesh))[valid]
        pred = np.asarray(pred)[valid]
        preds.append(pred - pred[:, :1])
        targets.append(target - target[:, :1])
        if "keypoints_defined" in global_batch:  # joints a dataset lacks are not scored
            defined = np.asarray(sharding.gather(global_batch["keypoints_defined"], mesh))[valid]
            err = err[defined]
        errors.append(err.reshape(-1) * 1000.0)
    if not errors:
        return {}
    errors = np.concatenate(errors)
    pred_spread = 1000.0 * float(batch_spread(np.concatenate(preds)))
    target_spread = 1000.0 * float(batch_spread(np.concatenate(targets)))
    out = {"mean_epe_mm": float(errors.mean()), "median_epe_mm": float(np.median(errors)),
           "pred_spread_mm": pred_spread, "target_spread_mm": target_spread,
           "spread": pred_spread / max(target_spread, 1e-9)}
    return {prefix + k: v for k, v in out.items()}


def check_model_selection(config: ml_collections.ConfigDict) -> None:
    """config.validation_fraction must hold some records out and leave some; and
    config.keep_best_checkpoint needs a validation split and saves that are evaluated.
    ConfigError (one line from train.py) otherwise, before any data is built."""
    if not 0.0 <= config.validation_fraction < 1.0:
        raise ConfigError(f"config.validation_fraction must be in [0, 1) (the share of the training records held "
                          f"out; 0 = none), got {config.validation_fraction}")
    if not config.keep_best_checkpoint:
        return
    if not config.validation_fraction:
        raise ConfigError("config.keep_best_checkpoint ranks checkpoints by the validation EPE, but "
                         "config.validation_fraction is 0 (choosing on the test split would be model selection on "
                         "the test set): set e.g. --config.validation_fraction=0.05")
    every = (config.eval_every, config.log_every, config.checkpoint_every)
    if not config.eval_every or config.eval_every % config.log_every or config.checkpoint_every % config.eval_every:
        raise ConfigError(f"config.keep_best_checkpoint ranks the saves that are evaluated: the evaluation runs at "
                         f"log steps, so eval_every must be a multiple of log_every and checkpoint_every of "
                         f"eval_every; got eval_every, log_every, checkpoint_every = {every}")


def _stop_trace(state, workdir: pathlib.Path, profile: tuple[int, int]) -> bool:
    """Ends the trace once the traced steps have finished on the device; returns False."""
    jax.block_until_ready(state)
    jax.profiler.stop_trace()
    log.info("profile of steps %d-%d written to %s", profile[0], profile[0] + profile[1] - 1,
             workdir / TENSORBOARD_DIR / "plugins" / "profile")
    return False


def train(config: ml_collections.ConfigDict, workdir: str | pathlib.Path, *, stop_after: int | None = None,
          progress: bool = True, profile: tuple[int, int] | None = None) -> TrainResult:
    """Trains `config` in `workdir`, resuming from its latest checkpoint.

    `stop_after`: stop (with a checkpoint) once this many steps have run in this
    call — a controlled interruption for tests; the config's schedule is unchanged.
    SIGTERM, Ctrl-C or a pod preemption notice stop it after the current step: the
    checkpoint at that step is written, then `TrainingStopped` is raised (so a script
    that trains several runs stops as asked; see jaxhands.training.preemption).
    `profile` = (first step, number of steps): a jax.profiler trace of those steps in
    <workdir>/tensorboard/plugins/profile/ (TensorBoard's profile tab; trace.json.gz opens
    in Perfetto). Start it after the first steps so that compilation stays out of it.
    """
    if profile is not None and (len(profile) != 2 or profile[0] < 0 or profile[1] < 1):
        raise ValueError(f"profile must be (first step >= 0, number of steps >= 1), got {profile}")
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    mesh = sharding.make_mesh()
    parallel = make_parallel(config.parallel, mesh)
    sharding.check_batch_size(config.batch_size, mesh)
    check_model_selection(config)
    experiment = build_experiment(config)
    stage_ends = experiment.method.phase_schedule.stage_ends
    checkpointer = Checkpointer(workdir, max_to_keep=config.max_checkpoints_to_keep, keep_steps=stage_ends,
                                save_interval_steps=config.checkpoint_every,
                                async_save=config.async_checkpointing,
                                keep_best=BEST_METRIC if config.keep_best_checkpoint else None,
                                keep_every=config.keep_checkpoint_every)
    state = initial_state(experiment, config, mesh)
    latest = checkpointer.latest_step()
    config_changes = {}
    if latest is not None and (workdir / workdir_record.CONFIG_FILE).is_file():
        config_changes = workdir_record.config_differences(load_config(workdir), config)
    if latest is not None:
        # A changed config whose model the checkpoint cannot hold fails here, from the stored
        # shapes alone: a restore that fails leaves orbax's pending reads to spill errors at exit.
        mismatches = checkpointer.shape_mismatches(latest, state) if config_changes else None
        if mismatches:
            checkpointer.close()
            raise workdir_record.IncompatibleResumeError(
                f"cannot resume {workdir} (checkpoint step {latest}: {mismatches[0]}"
                f"{f' and {len(mismatches) - 1} more arrays' if len(mismatches) > 1 else ''}) with this config: it "
                f"changes {workdir_record.describe_changes(config_changes)}. Resume with the run's own config "
                f"(--config={workdir}) or train in a new --workdir.")
        state = restore_latest(checkpointer, state)
    else:  # a fresh run: a data-dependent initialisation, then groups from other runs' checkpoints
        if isinstance(experiment.method, InitialisesFromPoses):
            poses = experiment.streams().labelled_poses()
            log.info("initialising from %d labelled training poses", len(poses))
            params = experiment.method.init_from_poses(jax.device_get(state.params), poses)
            state = state.replace(params=sharding.put_replicated(params, mesh))
        if config.init_from:
            state, _ = apply_init_from(state, config.init_from, experiment.method.groups)
    start_step = int(jax.device_get(state.step))
    writer = MetricsWriter(workdir)
    writer.truncate_after(start_step)
    if jax.process_index() == 0:  # config.json stays the record of how the first checkpoints were made
        if latest is None:
            workdir_record.record_start(workdir, config)
        elif not (workdir / workdir_record.CONFIG_FILE).is_file():
            # Checkpoints copied in from another run (a shared first stage): without a
            # record the workdir could not be evaluated or resumed; this config is its record.
            log.warning("%s holds checkpoints but no %s: recording this run's config", workdir,
                        workdir_record.CONFIG_FILE)
            workdir_record.record_start(workdir, config)
        else:
            workdir_record.record_resume(workdir, start_step, config_changes)
        # The commit and command behind the coming checkpoints (a fresh start drops the lines
        # of an earlier attempt that saved nothing).
        record_provenance(workdir, start_step, fresh=latest is None)
    if start_step:
        log.info("resuming from checkpoint at step %d", start_step)
    if config_changes:
        log.warning("resuming at step %d with a changed config: %s (recorded in %s; %s keeps the original)",
                    start_step, workdir_record.describe_changes(config_changes),
                    workdir / workdir_record.CHANGES_FILE, workdir_record.CONFIG_FILE)
    log.info("method %s: %d parameters in groups %s; %s over %d devices, %d processes", config.method,
             count_params(state.params), list(experiment.method.groups), parallel.name, jax.device_count(),
             jax.process_count())

    optimizers = group_optimizers(experiment.method, config)
    state = parallel.place_state(state)
    step_fn = parallel.compile_step(experiment.method, optimizers, state)
    predict_fn = make_predict_fn(experiment, mesh)

    num_steps = config.num_train_steps
    end_step = num_steps if stop_after is None else min(num_steps, start_step + stop_after)
    history: list[dict] = []
    history_start = start_step
    pending = writer.load_window(start_step)  # the half-logged window of a save between log steps
    if pending is not None:
        history_start, history = pending
    last: dict = {}
    t0 = time.time()
    log_t0, log_step0 = t0, start_step
    collapse = CollapseMonitor.from_config(config)
    bar = tqdm(total=num_steps, initial=start_step, disable=not progress or jax.process_index() != 0,
               desc=config.name, dynamic_ncols=True)
    batches = experiment.train_batches(start_step)
    step = start_step
    stopped_by = None
    # A resumed run's event file purges what the interrupted one logged past the checkpoint.
    board = TensorBoardWriter(workdir, purge_step=start_step + 1 if start_step else None) \
        if config.tensorboard else None
    profiling = False
    try:
        with StopRequests(checkpointer.reached_preemption) as stop_requests:
            for step in range(start_step, end_step):
                if profile is not None and step == profile[0]:
                    jax.profiler.start_trace(str(workdir / TENSORBOARD_DIR))
                    profiling = True
                batch = parallel.put_batch(next(batches))
                # Between log steps nothing is read back from the device: the phase is chosen
                # from the step number on the host, metrics stay on the device until the next
                # log step. The guard turns an accidental sync into an error.
                with jax.transfer_guard_device_to_host("disallow"):
                    state, metrics = step_fn(step, state, batch)
                history.append(parallel.host_metrics(metrics))
                done = step + 1
                stopped_by = stop_requests.requested(done)
                at_stage_end = done in stage_ends  # always saved and kept (Checkpointer keep_steps)
                must_save = (done % config.checkpoint_every == 0 or done == end_step or at_stage_end
                             or stopped_by is not None)
                # Records fall on log_every boundaries (and the last step) whatever the saves or
                # interruptions, so a resumed run's log matches an uninterrupted one's.
                must_log = done % config.log_every == 0 or done == num_steps
                if must_log or must_save:
                    history = stack_history(history)
                    bad = find_nonfinite(history, history_start)
                    if bad is not None:
                        raise NonFiniteLossError(
                            f"non-finite value at step {bad[0]} in phase '{bad[1]}', term '{bad[2]}'; "
                            f"the update was skipped and training stopped (last checkpoint: step "
                            f"{checkpointer.latest_step()})")
                if must_log:
                    last = summarize_phase_metrics(history, [p.name for p in experiment.method.phases])
                    elapsed = time.time() - log_t0
                    last["steps_per_sec"] = (done - log_step0) / max(elapsed, 1e-9)
                    last["samples_per_sec"] = last["steps_per_sec"] * config.batch_size
                    if config.eval_every and (done % config.eval_every == 0 or done == num_steps):
                        one = parallel.checkpoint_state(state)
                        last.update(quick_eval(experiment, predict_fn, one.params, one.model_state, mesh,
                                               config.eval_num_batches))
                    writer.write(done, last)
                    if board is not None:
                        board.scalars(done, last)
                    collapse.update(done, {k: v for k, v in last.items() if not k.startswith(("eval/", "val/"))})
                    bar.set_postfix({k: f"{v:.4g}" for k, v in last.items()
                                     if k in ("loss", "eval/mean_epe_mm", "eval/spread", BEST_METRIC, "val/spread")
                                     or k.endswith("/loss")
                                     or is_spread_metric(k)}, refresh=False)
                    history, history_start = [], done
                    log_t0, log_step0 = time.time(), done
                    writer.clear_windows()
                if must_save and not must_log and history:
                    writer.save_window(done, history_start, history)
                if must_save:
                    # Ranked only when evaluated at this very step (a save between evaluations,
                    # e.g. at a stop request, has no validation EPE of its own).
                    ranked = must_log and BEST_METRIC in last and config.keep_best_checkpoint
                    checkpointer.save(parallel.checkpoint_state(state),
                                      force=done == end_step or at_stage_end or stopped_by is not None,
                                      config_json=json.loads(config.to_json_best_effort()),
                                      metrics={BEST_METRIC: last[BEST_METRIC]} if ranked else None)
                bar.update(1)
                if profiling and done == profile[0] + profile[1]:
                    profiling = _stop_trace(state, workdir, profile)
                if stopped_by is not None:
                    break  # TrainingStopped (below, once the save is complete) says where
    finally:
        if profiling:
            _stop_trace(state, workdir, profile)
        bar.close()
        checkpointer.close()
        if board is not None:
            board.close()
    if stopped_by is not None:
        raise TrainingStopped(stopped_by, done)
    return TrainResult(state=parallel.checkpoint_state(state), experiment=experiment, last_metrics=last,
                       steps_run=max(0, end_step - start_step), seconds=time.time() - t0)
