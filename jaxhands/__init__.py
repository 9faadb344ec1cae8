"""jaxhands: cross-modal variational 3D hand pose estimation in JAX.

    import jaxhands
    run = jaxhands.load_run("workdirs/var3")                 # config, method, params, model_state
    metrics = jaxhands.evaluate_workdir("workdirs/var3")     # the papers' metrics on the test split
    config = jaxhands.load_config("spurr18_rgb_to_3d_var3", ["num_train_steps=20"])

The names below are imported on first use, so `import jaxhands` stays cheap.
"""

import importlib

_EXPORTS = {
    "load_config": "jaxhands.configs",
    "load_run": "jaxhands.runs",
    "TrainedRun": "jaxhands.runs",
    "evaluate_workdir": "jaxhands.evaluation.run_evaluation",
    "evaluate_run": "jaxhands.evaluation.run_evaluation",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'jaxhands' has no attribute {name!r}")
