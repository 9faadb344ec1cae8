import numpy as np
import pytest

from jaxhands.losses.reductions import annealed_beta


def test_annealed_beta_is_log_linear_then_constant():
    # 1e-5 -> 1e-3 over 100 steps: a factor 10 every 50 steps.
    for step, expected in [(0, 1e-5), (50, 1e-4), (100, 1e-3), (400, 1e-3)]:
        np.testing.assert_allclose(float(annealed_beta(step, beta=1e-3, beta_start=1e-5, anneal_steps=100)),
                                   expected, rtol=1e-5)
    assert float(annealed_beta(7, beta=0.3)) == pytest.approx(0.3)  # no start: constant
    assert float(annealed_beta(7, beta=0.3, beta_start=0.1, anneal_steps=0)) == pytest.approx(0.3)


@pytest.mark.parametrize("start, end", [(0.0, 1.0), (-0.1, 1.0), (0.01, 0.0)])
def test_a_warm_up_from_or_to_zero_is_refused(start, end):
    with pytest.raises(ValueError, match="positive ends"):
        annealed_beta(0, beta=end, beta_start=start, anneal_steps=10)


def test_a_negative_warm_up_length_is_refused_naming_the_fields():
    with pytest.raises(ValueError, match=r"got -5 \(config beta_anneal_steps or align_beta_anneal_steps\)"):
        annealed_beta(0, beta=1.0, beta_start=0.01, anneal_steps=-5)
