"""Datasets: the sample schema, TFDS shards, the grain input pipeline and augmentation.

Submodules: schema (the one sample schema), storage (prepared datasets on disk,
atomic preparation, `load_split`), synthetic_builder (the synthetic TFDS builder,
`ensure_synthetic_dataset`), pipeline (deterministic sharded train/eval
iterators), augment (consistent multi-modal augmentation).

The names below are imported lazily so that `import jaxhands.data.schema` does not
pay for TFDS and grain.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "load_split": "storage",
    "resolve_dataset_dir": "storage",
    "find_prepared": "storage",
    "prepare_atomically": "storage",
    "DatasetNotFoundError": "storage",
    "OutputDirError": "storage",
    "ensure_synthetic_dataset": "synthetic_builder",
    "build_synthetic_dataset": "synthetic_builder",
    "SyntheticHands": "synthetic_builder",
    "SyntheticHandsConfig": "synthetic_builder",
    "StaleDatasetError": "synthetic_builder",
    "make_train_iterator": "pipeline",
    "make_eval_iterator": "pipeline",
    "num_eval_steps": "pipeline",
    "epoch_permutation": "pipeline",
    "AugmentConfig": "augment",
    "AugmentParams": "augment",
    "augment_sample": "augment",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
