"""Host-side phase schedules: plain-int choice, its vectorised and traced forms, and the
stream positions (count_before) against brute force."""

import jax
import numpy as np
import pytest

from jaxhands.methods.phase_schedule import alternating, single, staged

SCHEDULES = {
    "single": single(),
    "alternating3": alternating(3),
    "crossing_nets_like": staged([((0,), 7), ((1, 2), 6), ((3,), 5), ((1, 2, 3), None)]),
    "finite_last": staged([((0, 1), 4), ((2,), 3)]),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_index_indices_and_traced_agree(name):
    schedule = SCHEDULES[name]
    steps = np.arange(40)
    host = [schedule.index(int(s)) for s in steps]
    assert all(type(k) is int for k in host)
    np.testing.assert_array_equal(schedule.indices(steps), host)
    traced = jax.jit(jax.vmap(schedule.traced))(steps)
    np.testing.assert_array_equal(np.asarray(traced), host)


def test_staged_schedule_by_hand():
    s = SCHEDULES["crossing_nets_like"]
    assert [s.index(i) for i in range(22)] == [0] * 7 + [1, 2] * 3 + [3] * 5 + [1, 2, 3, 1]
    assert [s.index(i) for i in (40, 41, 42)] == [2, 3, 1]  # (40 - 18) % 3 = 1: pattern (1, 2, 3)[1]


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_count_before_equals_brute_force(name):
    schedule = SCHEDULES[name]
    host = np.array([schedule.index(i) for i in range(60)])
    for phases in ((0,), (1, 2), (3,), (0, 3)):
        for step in (0, 1, 5, 7, 13, 18, 19, 33, 60):
            assert schedule.count_before(step, phases) == int(np.isin(host[:step], phases).sum()), (phases, step)


def test_bad_schedules_fail_clearly():
    with pytest.raises(ValueError, match="only the last stage"):
        staged([((0,), None), ((1,), 5)])
    with pytest.raises(ValueError, match="empty phase pattern"):
        staged([((), 5)])


def test_stage_ends_are_the_steps_where_the_phase_pattern_changes():
    schedule = staged([((0,), 3), ((1, 2), 4), ((3,), 2), ((4,), None)])
    assert schedule.stage_ends == (3, 7, 9)
    changes = [s for s in range(1, 20) if schedule.stage_at(s) != schedule.stage_at(s - 1)]
    assert list(schedule.stage_ends) == changes
    assert single().stage_ends == () and alternating(2).stage_ends == ()
