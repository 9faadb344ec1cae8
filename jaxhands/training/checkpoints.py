"""Orbax checkpoints of the train state in `<workdir>/checkpoints`.

Saves are asynchronous (training continues while the previous state is written)
and atomic (orbax writes to a temporary directory and renames), so a run killed at
any moment resumes from the last complete checkpoint. A step damaged afterwards (a
deleted or truncated file) is skipped on restore: the newest step that reads is used,
with a one-line warning, and training moves the damaged ones to checkpoints_damaged/.
The data pipeline is a deterministic function of the step, so the step is all the data
position needed.
"""

from __future__ import annotations

import logging
import pathlib
from typing import Any, Callable

import jax
import orbax.checkpoint as ocp

from jaxhands.training.state import TrainState

log = logging.getLogger("jaxhands.train")

BEST_METRIC = "val/mean_epe_mm"  # what config.keep_best_checkpoint ranks by (lower is better)


class CheckpointDamagedError(RuntimeError):
    """A checkpoint step that was asked for by number does not restore."""


class CheckpointNotFoundError(ValueError):
    """The checkpoint asked for (a step number, or "best") was never saved in the workdir."""


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines() or [""])[0][:200]


class Checkpointer:
    def __init__(self, workdir: str | pathlib.Path, *, max_to_keep: int = 3, save_interval_steps: int = 1000,
                 async_save: bool = True, keep_steps: tuple[int, ...] = (), keep_best: str | None = None,
                 keep_every: int = 0):
        """keep_steps: checkpoints kept whatever max_to_keep says (the stage ends of a staged
        schedule), besides the latest max_to_keep. keep_every: also keep every saved step
        that is a multiple of it (0: none), so a run can be scored at an earlier step later
        (an equal-time or equal-step comparison). keep_best: a metric name (lower is
        better): the saved step with the lowest value among those saved with `metrics` is
        kept as well (`best_step`)."""
        self.directory = pathlib.Path(workdir).absolute() / "checkpoints"
        from orbax.checkpoint import checkpoint_managers

        # Preservation policies (orbax's replacement for the deprecated max_to_keep).
        policies = [checkpoint_managers.LatestN(max_to_keep)]
        if keep_steps:
            policies.append(checkpoint_managers.CustomSteps(list(keep_steps)))
        if keep_every < 0:
            raise ValueError(f"config.keep_checkpoint_every must be >= 0 (0 = keep none besides the latest), "
                             f"got {keep_every}")
        if keep_every:
            policies.append(checkpoint_managers.EveryNSteps(interval_steps=keep_every))
        rank = None
        if keep_best:
            def rank(metrics):
                return metrics[keep_best]
            # BestN keeps the end of the sorted order: reverse=True puts the lowest there
            # (measured: reverse=False kept the highest value; tests/training/test_model_selection.py).
            policies.append(checkpoint_managers.BestN(get_metric_fn=rank, n=1, reverse=True,
                                                      keep_checkpoints_without_metrics=False))
        # best_fn is also what makes orbax write a save's metrics to disk (without it they
        # live in memory only, and a later reader or a resumed run could not rank the steps).
        options = ocp.CheckpointManagerOptions(
            save_interval_steps=save_interval_steps, create=True, enable_async_checkpointing=async_save,
            preservation_policy=checkpoint_managers.AnyPreservationPolicy(policies), best_fn=rank, best_mode="min")
        self.manager = ocp.CheckpointManager(self.directory, options=options)

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def save(self, state: TrainState, *, force: bool = False, config_json: dict | None = None,
             metrics: dict[str, float] | None = None) -> bool:
        """metrics: stored with the step (orbax's checkpoint metadata), ranked by keep_best."""
        step = int(jax.device_get(state.step))
        items = {"state": ocp.args.StandardSave(state)}
        if config_json is not None:
            items["config"] = ocp.args.JsonSave(config_json)
        return self.manager.save(step, args=ocp.args.Composite(**items), force=force, metrics=metrics)

    def best_step(self, metric: str) -> int:
        """The saved step with the lowest `metric` among those saved with it. ValueError
        naming the saved steps when none has it."""
        self.manager.wait_until_finished()
        scored = {}
        for step in self.manager.all_steps():
            metrics = self.manager.metrics(step) or {}
            if metric in metrics:
                scored[step] = float(metrics[metric])
        if not scored:
            raise CheckpointNotFoundError(
                f"no checkpoint in {self.directory} was saved with {metric!r} (saved steps: "
                f"{sorted(self.manager.all_steps())}): train with config.keep_best_checkpoint=True and a validation "
                "split (config.validation_fraction > 0)")
        return min(scored, key=lambda s: (scored[s], s))

    def restore(self, abstract_state: TrainState, step: int | None = None) -> TrainState:
        """Restores into the structure, dtypes and shardings of `abstract_state`
        (e.g. `jax.eval_shape` of the initial state, with shardings attached). With no
        `step`, the newest checkpoint that restores (`restore_newest_good`)."""
        def read(s):
            return self.manager.restore(s, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state)))
        if step is None:
            return self.restore_newest_good(read)[0]["state"]
        return self._read_named_step(read, self._existing_step(step))["state"]

    def restore_subset(self, abstract: dict, step: int | None = None) -> dict:
        """Restores only the train-state fields named in `abstract` (e.g. params,
        model_state and step for prediction; the optimizer state is never read), into its
        dtypes and shardings. ValueError if `step` was not saved; with no `step`, the
        newest checkpoint that restores."""
        restore_args = ocp.checkpoint_utils.construct_restore_args(abstract)

        def read(s):
            return self.manager.restore(s, args=ocp.args.Composite(
                state=ocp.args.PyTreeRestore(item=abstract, restore_args=restore_args, partial_restore=True)))
        if step is None:
            return self.restore_newest_good(read)[0]["state"]
        return self._read_named_step(read, self._existing_step(step))["state"]

    def restore_newest_good(self, read: Callable[[int], Any]) -> tuple[Any, int, list[int]]:
        """(read(step), step, damaged newer steps) for the newest step whose checkpoint
        reads: a step left damaged by a crash, a full disk or a deleted file falls back to
        the one before it, with a one-line warning naming both. If none reads, the newest
        step's error is raised (a model that changed shape fails every step alike: that is
        not damage, and its own message says what differs)."""
        steps = sorted(self.manager.all_steps(), reverse=True)
        if not steps:
            raise FileNotFoundError(f"no checkpoint in {self.directory}; train first")
        failures = []
        for step in steps:
            try:
                restored = read(step)
            except Exception as err:  # orbax raises OSError, ValueError, KeyError, ... for damaged files
                failures.append((step, err))
                continue
            if failures:
                log.warning("checkpoint step %s in %s does not restore (%s: %s); using step %d",
                            ", ".join(str(s) for s, _ in failures), self.directory, type(failures[0][1]).__name__,
                            _first_line(failures[0][1]), step)
            return restored, step, [s for s, _ in failures]
        raise failures[0][1]

    def quarantine(self, steps) -> pathlib.Path | None:
        """Moves the checkpoints of `steps` (damaged ones) out of the way, into
        <workdir>/checkpoints_damaged/, so that training can write those steps again."""
        if not steps:
            return None
        target = self.directory.parent / "checkpoints_damaged"
        target.mkdir(exist_ok=True)
        for step in steps:
            source = self.directory / str(step)
            if source.exists():
                destination = target / str(step)
                suffix = 1
                while destination.exists():
                    destination, suffix = target / f"{step}.{suffix}", suffix + 1
                source.rename(destination)
        self.manager.reload()
        return target

    def _read_named_step(self, read: Callable[[int], Any], step: int):
        try:
            return read(step)
        except Exception as err:
            raise CheckpointDamagedError(
                f"checkpoint step {step} in {self.directory} does not restore ({type(err).__name__}: "
                f"{_first_line(err)}); pick another step (saved: {sorted(self.manager.all_steps())}) or omit the "
                "step to use the newest one that restores") from err

    def _existing_step(self, step: int | None) -> int:
        steps = sorted(self.manager.all_steps())
        if not steps:
            raise FileNotFoundError(f"no checkpoint in {self.directory}; train first")
        if step is None:
            return steps[-1]
        if step not in steps:
            raise CheckpointNotFoundError(f"no checkpoint at step {step} in {self.directory}; saved steps: {steps}")
        return step

    def reached_preemption(self, step: int) -> bool:
        """True on every process at the step the processes agreed to save at after one of
        them got a preemption notice (JAX's preemption sync manager; False without
        jax.distributed). Must be called at every step by every process."""
        return self.manager.reached_preemption(step)

    def shape_mismatches(self, step: int, template) -> list[str] | None:
        """The arrays of `template` (a TrainState) that checkpoint `step` lacks or stores with
        another shape, and the ones it stores that the template lacks ("params/enc_kp3d/...:
        stored (64, 8), expected (64, 16)"), read from the step's metadata without
        restoring anything; None where the metadata does not read (a damaged step: the
        restore's own fallback deals with it)."""
        try:
            stored = ocp.StandardCheckpointer().metadata(self.directory / str(step) / "state")
            stored = {_path_name(p): tuple(m.shape) for p, m in jax.tree.leaves_with_path(stored.item_metadata)}
        except Exception:  # damaged metadata: not this check's business
            return None
        wanted = {_path_name(p): tuple(x.shape) for p, x in jax.tree.leaves_with_path(template)}
        out = [f"{k}: stored {stored[k]}, expected {wanted[k]}" for k in sorted(set(stored) & set(wanted))
               if stored[k] != wanted[k]]
        out += [f"{k}: not stored" for k in sorted(set(wanted) - set(stored))]
        out += [f"{k}: stored, not expected" for k in sorted(set(stored) - set(wanted))]
        return out

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()


def _path_name(path) -> str:
    """"params/enc_kp3d/dense_0/kernel" for a pytree key path (dict keys, attributes and
    indices alike, so a TrainState and its stored metadata tree name leaves the same)."""
    return "/".join(str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k)))) for k in path)
