import numpy as np
import pytest

from latent_mdp import NoiseSpace

H, D = 6, 3


@pytest.mark.parametrize(("mode", "k"), [("repeat", D), ("full", H * D), ("knots", 3 * D)])
def test_dimension_shape_and_bound(mode: str, k: int) -> None:
    space = NoiseSpace(H, D, mode=mode, bound=1.5, n_knots=3)
    assert space.dim == k
    assert space.action_space.shape == (k,)
    assert (space.action_space.low == -1).all() and (space.action_space.high == 1).all()
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, size=(7, k))
    w = space.to_noise(u)
    assert w.shape == (7, H, D) and w.dtype == np.float32
    assert np.abs(w).max() <= 1.5 + 1e-6
    corners = space.to_noise(np.ones(k))
    np.testing.assert_allclose(corners, 1.5, rtol=1e-6)


def test_repeat_tiles_one_vector_over_the_chunk() -> None:
    space = NoiseSpace(H, D, mode="repeat", bound=2.0)
    u = np.array([0.5, -0.25, 1.0])
    w = space.to_noise(u)
    np.testing.assert_allclose(w, np.tile(2.0 * u, (H, 1)), rtol=1e-6)


def test_full_is_a_reshape() -> None:
    space = NoiseSpace(H, D, mode="full", bound=1.0)
    u = np.linspace(-1, 1, H * D)
    np.testing.assert_allclose(space.to_noise(u), u.reshape(H, D), rtol=1e-6)


def test_knots_interpolate_linearly_between_end_knots() -> None:
    space = NoiseSpace(5, 1, mode="knots", n_knots=2, bound=1.0)
    w = space.to_noise(np.array([-1.0, 1.0]))[:, 0]
    np.testing.assert_allclose(w, [-1.0, -0.5, 0.0, 0.5, 1.0], atol=1e-6)


@pytest.mark.parametrize("mode", ["repeat", "full", "knots"])
def test_to_action_inverts_to_noise(mode: str) -> None:
    space = NoiseSpace(H, D, mode=mode, n_knots=3)
    u = np.random.default_rng(1).uniform(-1, 1, size=(4, space.dim)).astype(np.float32)
    np.testing.assert_allclose(space.to_action(space.to_noise(u)), u, atol=1e-5)


def test_to_action_clips_large_gaussian_noise() -> None:
    space = NoiseSpace(H, D, mode="full", bound=1.0)
    u = space.to_action(np.full((H, D), 5.0))
    assert (u == 1.0).all()


@pytest.mark.parametrize("held", ["zero", "fixed"])
def test_steer_dims_holds_the_other_columns(held: str) -> None:
    space = NoiseSpace(H, 5, mode="repeat", steer_dims=2, held=held, seed=3)
    assert space.dim == 2
    w1 = space.to_noise(np.array([1.0, -1.0]))
    w2 = space.to_noise(np.array([-0.3, 0.7]))
    np.testing.assert_array_equal(w1[:, 2:], w2[:, 2:])
    if held == "zero":
        assert (w1[:, 2:] == 0).all()
    else:
        assert np.abs(w1[:, 2:]).sum() > 0
        again = NoiseSpace(H, 5, mode="repeat", steer_dims=2, held=held, seed=3).to_noise(np.zeros(2))
        np.testing.assert_array_equal(again[:, 2:], w1[:, 2:])


def test_gaussian_actions_match_the_standard_normal_inside_the_bound() -> None:
    space = NoiseSpace(H, D, bound=2.5)
    u = space.sample_gaussian_action(np.random.default_rng(0), 20000)
    assert u.shape == (20000, D) and np.abs(u).max() <= 1.0
    z = space.to_noise(u)[:, 0, :].ravel()
    assert abs(z.std() - 1.0) < 0.03
    assert np.isclose(np.mean(np.abs(z) >= 2.5 - 1e-6), 2 * 0.00621, atol=0.003)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "spiral"},
        {"bound": 0.0},
        {"bound": float("nan")},
        {"steer_dims": 0},
        {"steer_dims": D + 1},
        {"mode": "knots", "n_knots": 1},
        {"held": "random"},
    ],
)
def test_bad_arguments_raise(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        NoiseSpace(H, D, **kwargs)
