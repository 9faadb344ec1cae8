import numpy as np

from jaxhands.baselines.keypoint_nearest_neighbour import NearestNeighbourLifting
from tests.methods.test_cross_modal import random_hands


def test_nearest_neighbour_matches_brute_force_and_recovers_train_poses():
    train, test = random_hands(200, seed=3), random_hands(30, seed=4)
    nn = NearestNeighbourLifting(chunk_size=7).fit(train)
    # A train sample is its own nearest neighbour and is lifted to itself exactly.
    np.testing.assert_array_equal(nn.nearest(train), np.arange(200))
    np.testing.assert_allclose(nn.predict(train), np.asarray(train["keypoints_3d"]), atol=1e-6)
    # Brute force on the normalised 2D poses.
    from jaxhands.methods.modalities import Invariances, keypoints_2d_input
    k_train = np.asarray(keypoints_2d_input(train, Invariances())).reshape(200, -1)
    k_test = np.asarray(keypoints_2d_input(test, Invariances())).reshape(30, -1)
    brute = np.argmin(((k_test[:, None] - k_train[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(nn.nearest(test), brute)
