"""config.init_from entries: parsing and the errors a user meets."""

import jax.numpy as jnp
import pytest

from jaxhands.training.init_from import InitSource, _like, apply_init_from


def test_entries_parse_group_workdir_step_and_source_group():
    assert InitSource.parse("dec_kp3d=workdirs/pose_vae") == InitSource("dec_kp3d", "workdirs/pose_vae", None, "dec_kp3d")
    assert InitSource.parse("gen=/abs/run@3000") == InitSource("gen", "/abs/run", 3000, "gen")
    assert InitSource.parse("gen=runs/a@10:dec_kp3d") == InitSource("gen", "runs/a", 10, "dec_kp3d")
    assert InitSource.parse("gen=runs/v1.2@x/run") == InitSource("gen", "runs/v1.2@x/run", None, "gen")  # '@' in a folder
    with pytest.raises(ValueError, match="expected GROUP=WORKDIR"):
        InitSource.parse("workdirs/pose_vae")
    with pytest.raises(ValueError, match="step 'last' is not a number"):
        InitSource.parse("gen=runs/a@last")


def test_unknown_group_and_shape_mismatch_are_named():
    class State:
        params = {"gen": {"w": jnp.zeros((2, 3))}}

    with pytest.raises(ValueError, match=r"names group\(s\) \['disc'\] this method does not have; groups: \['gen'\]"):
        apply_init_from(State(), ("disc=runs/a",), ("gen",))
    with pytest.raises(ValueError, match=r"leaf \['w'\] is float32\[3, 3\] in the source but float32\[2, 3\] here"):
        _like({"w": jnp.zeros((2, 3))}, {"w": jnp.zeros((3, 3))}, "gen <- runs/a:gen params")
