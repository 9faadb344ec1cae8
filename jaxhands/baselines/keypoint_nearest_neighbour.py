"""Nearest-neighbour 2D -> 3D lifting: the baseline of the 2D -> 3D experiments (STB lifting).

Each test 2D pose, normalised exactly as the cross-modal VAE's 2D input
(`modalities.keypoints_2d_input`: intrinsics-free, and root-relative / scale-free
per the T and S invariances), takes the 3D pose (`pose_3d_target`) of the train
sample whose normalised 2D pose is nearest in Euclidean distance over all 42
coordinates; the 3D pose is then put back in the camera frame with the test
sample's ground-truth root and scale (`pose_3d_to_camera`), as for the VAE.

    python -m jaxhands.baselines keypoint_nearest_neighbour --config=spurr18_stb_2d_to_3d_var1
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxhands.baselines.scoring import baseline_metrics, baseline_sources, stacked_records
from jaxhands.methods.modalities import Invariances, keypoints_2d_input, pose_3d_target, pose_3d_to_camera


class NearestNeighbourLifting:
    def __init__(self, invariances: Invariances = Invariances(), chunk_size: int = 1024):
        self.invariances = invariances
        self.chunk_size = chunk_size
        self._keys = None
        self._poses = None

    def fit(self, train_batch: dict) -> "NearestNeighbourLifting":
        """train_batch: stacked records with keypoints_2d, keypoints_3d, intrinsics."""
        batch = {k: jnp.asarray(v) for k, v in train_batch.items()}
        keys = keypoints_2d_input(batch, self.invariances)
        self._keys = keys.reshape(keys.shape[0], -1)
        self._poses = pose_3d_target(batch, self.invariances)
        return self

    def nearest(self, batch: dict) -> np.ndarray:
        """Index of the nearest train sample for each sample of `batch` ([B] ints)."""
        if self._keys is None:
            raise RuntimeError("NearestNeighbourLifting: call fit() first")
        queries = keypoints_2d_input({k: jnp.asarray(v) for k, v in batch.items()}, self.invariances)
        queries = queries.reshape(queries.shape[0], -1)
        out = [_nearest(queries[i:i + self.chunk_size], self._keys) for i in range(0, queries.shape[0], self.chunk_size)]
        return np.concatenate([np.asarray(o) for o in out])

    def predict(self, batch: dict) -> np.ndarray:
        """3D joints [B, 21, 3], metres, camera frame."""
        idx = self.nearest(batch)
        jbatch = {k: jnp.asarray(v) for k, v in batch.items()}
        return np.asarray(pose_3d_to_camera(self._poses[idx], jbatch, self.invariances))


@jax.jit
def _nearest(queries, keys):
    # ||q - k||^2 = |q|^2 - 2 q.k + |k|^2; |q|^2 does not change the argmin.
    d = jnp.sum(keys * keys, axis=1)[None, :] - 2.0 * queries @ keys.T
    return jnp.argmin(d, axis=1)


def evaluate_keypoint_nearest_neighbour(config, *, test_dataset: str | None = None) -> dict:
    """The baseline's metrics (jaxhands.baselines.scoring) on config's test split (or
    test_dataset's), fitted on its whole training split with the config's invariances."""
    train_source, test_source = baseline_sources(config, test_dataset=test_dataset)
    fields = ("keypoints_2d", "keypoints_3d", "intrinsics", "visible", "hand_side")
    model = NearestNeighbourLifting(Invariances.from_config(config)).fit(stacked_records(train_source, fields))
    test = stacked_records(test_source, fields)
    return baseline_metrics(model.predict(test), test["keypoints_3d"], test["visible"], num_train=len(train_source),
                            baseline="nearest training 2D pose (normalised as the VAE's input, L2 over 42 coordinates)")
