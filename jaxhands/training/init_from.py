"""Initialise parameter groups from other runs (`config.init_from`).

    --config.init_from="('dec_kp3d=workdirs/pose_vae',)"              # same group, latest step
    --config.init_from="('dec_kp3d=workdirs/pose_vae@3000',)"         # that checkpoint
    --config.init_from="('gen_pose=workdirs/pose_vae:dec_kp3d',)"     # from another group name

Each entry sets one group's params and model state (batch statistics) from another
workdir's checkpoint (jaxhands.load_run: params only, no optimizer state) when a run
starts; the optimizer state of that group starts fresh. A resumed run restores its own
checkpoint instead, so initialisation happens once. Shapes must match exactly.
"""

from __future__ import annotations

import dataclasses
import logging

import jax

log = logging.getLogger("jaxhands.train")


@dataclasses.dataclass(frozen=True)
class InitSource:
    group: str  # group of this run
    workdir: str
    step: int | None
    source_group: str  # group of the other run

    @classmethod
    def parse(cls, entry: str) -> "InitSource":
        group, eq, rest = str(entry).partition("=")
        if not eq or not group or not rest:
            raise ValueError(f"config.init_from entry {entry!r}: expected GROUP=WORKDIR[@STEP][:SOURCE_GROUP]")
        source_group = group
        if ":" in rest.rsplit("/", 1)[-1]:
            rest, source_group = rest.rsplit(":", 1)
        step = None
        if "@" in rest.rsplit("/", 1)[-1]:
            rest, step_text = rest.rsplit("@", 1)
            if not step_text.isdigit():
                raise ValueError(f"config.init_from entry {entry!r}: step {step_text!r} is not a number")
            step = int(step_text)
        return cls(group.strip(), rest, step, source_group.strip())


def apply_init_from(state, entries, method_groups) -> tuple:
    """(state with the named groups' params/model_state replaced, [(group, workdir, step)])."""
    from jaxhands.runs import load_run

    sources = [InitSource.parse(e) for e in entries]
    unknown = sorted({s.group for s in sources} - set(method_groups))
    if unknown:
        raise ValueError(f"config.init_from names group(s) {unknown} this method does not have; "
                         f"groups: {list(method_groups)}")
    params, model_state, done = dict(state.params), dict(state.model_state), []
    runs = {}
    for source in sources:
        key = (source.workdir, source.step)
        if key not in runs:
            runs[key] = load_run(source.workdir, source.step)
        run = runs[key]
        if source.source_group not in run.params:
            raise ValueError(f"config.init_from: {source.workdir} has no group {source.source_group!r}; "
                             f"its groups: {list(run.params)}")
        params[source.group] = _like(state.params[source.group], run.params[source.source_group],
                                     f"{source.group} <- {source.workdir}:{source.source_group} params")
        model_state[source.group] = _like(state.model_state.get(source.group, {}),
                                          run.model_state.get(source.source_group, {}),
                                          f"{source.group} <- {source.workdir}:{source.source_group} model state")
        done.append((source.group, source.workdir, run.step))
        log.info("initialised group %s from %s (group %s, step %d)", source.group, source.workdir,
                 source.source_group, run.step)
    return state.replace(params=params, model_state=model_state), done


def _like(template, value, what: str):
    """`value` placed like `template` (same tree, shapes, dtypes, shardings), or a clear error."""
    t_struct, v_struct = jax.tree.structure(template), jax.tree.structure(value)
    if t_struct != v_struct:
        raise ValueError(f"config.init_from {what}: the trees differ:\n  this run: {t_struct}\n  source:   {v_struct}")
    flat_t = jax.tree_util.tree_leaves_with_path(template)
    flat_v = jax.tree.leaves(value)
    for (path, t), v in zip(flat_t, flat_v):
        if t.shape != v.shape or t.dtype != v.dtype:
            raise ValueError(f"config.init_from {what}: leaf {jax.tree_util.keystr(path)} is {v.dtype}{list(v.shape)} "
                             f"in the source but {t.dtype}{list(t.shape)} here")
    return jax.tree.map(lambda t, v: jax.device_put(v, t.sharding), template, value)
