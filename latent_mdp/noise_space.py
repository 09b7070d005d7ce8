"""`NoiseSpace`: how an RL action ``u in [-1, 1]^k`` becomes a policy noise ``w`` of shape ``(H, D)``.

Every parameterization is linear. The steered block of the noise is

    w[:, :d] = b_w * M @ u.reshape(n, d)

with ``M`` an ``(H, n)`` expansion matrix and ``d = steer_dims`` (``D`` when unset):

* ``repeat``: ``n = 1``, ``M`` is a column of ones: one ``d``-vector tiled over the chunk (the
  DSRL-pi0 default, ``k = d``).
* ``full``: ``n = H``, ``M = I``: every chunk row is free (``k = H * d``).
* ``knots``: ``n = n_knots``, ``M`` interpolates linearly between knots spread evenly over the
  chunk (``k = n_knots * d``). Rows of ``M`` are convex weights, so ``|w| <= b_w`` still holds.

Columns ``d..D`` are not steered: they are held at 0 or at one fixed ``N(0, I)`` draw
(pi0 and SmolVLA pad the noise to 32 columns, and those columns still move the actions).
"""

from __future__ import annotations

from typing import Any, Literal

import gymnasium as gym
import numpy as np

__all__ = ["NoiseMode", "NoiseSpace", "check_noise_bound"]

NoiseMode = Literal["repeat", "full", "knots"]
HeldMode = Literal["zero", "fixed"]


def _expansion_matrix(mode: NoiseMode, chunk_size: int, n_knots: int) -> np.ndarray:
    """The ``(H, n)`` matrix that spreads ``n`` parameter rows over ``H`` chunk rows."""
    if mode == "repeat":
        return np.ones((chunk_size, 1))
    if mode == "full":
        return np.eye(chunk_size)
    if mode == "knots":
        if not 2 <= n_knots <= chunk_size:
            raise ValueError(f"knots mode needs 2 <= n_knots <= chunk_size={chunk_size}; got {n_knots}")
        positions = np.linspace(0.0, n_knots - 1.0, chunk_size)
        matrix = np.zeros((chunk_size, n_knots))
        left = np.minimum(np.floor(positions).astype(int), n_knots - 2)
        frac = positions - left
        rows = np.arange(chunk_size)
        matrix[rows, left] = 1.0 - frac
        matrix[rows, left + 1] = frac
        return matrix
    raise ValueError(f"unknown noise mode {mode!r}; expected 'repeat', 'full' or 'knots'")


def check_noise_bound(bound: Any) -> None:
    """Raise ``ValueError`` unless ``bound`` (``b_w``) is a finite positive number (not a bool or a string)."""
    if isinstance(bound, (bool, str)) or not isinstance(bound, (int, float, np.integer, np.floating)):
        raise ValueError(f"the noise bound b_w must be a positive number; got {bound!r} ({type(bound).__name__})")
    if not np.isfinite(bound) or bound <= 0:
        raise ValueError(f"the noise bound b_w must be a positive number; got {bound}")


class NoiseSpace:
    """Maps RL actions ``u`` (``(..., k)`` in ``[-1, 1]``) to policy noises ``w`` (``(..., H, D)``).

    Args:
        chunk_size: ``H``.
        noise_dim: ``D``.
        mode: ``"repeat"``, ``"full"`` or ``"knots"`` (see the module docstring).
        bound: ``b_w``; ``u = +-1`` maps to ``w = +-b_w``.
        n_knots: number of knots in ``knots`` mode.
        steer_dims: steer only the first ``steer_dims`` noise columns (default: all ``D``).
        held: what the unsteered columns hold: ``"zero"`` or ``"fixed"`` (one ``N(0, I)`` draw).
        seed: seed of the ``fixed`` draw.

    Example:
        >>> import numpy as np
        >>> space = NoiseSpace(chunk_size=50, noise_dim=32, mode="repeat", bound=1.0)
        >>> space.action_space.shape
        (32,)
        >>> w = space.to_noise(np.ones((4, 32), dtype=np.float32))
        >>> w.shape, float(w.max())
        ((4, 50, 32), 1.0)
    """

    def __init__(
        self,
        chunk_size: int,
        noise_dim: int,
        mode: NoiseMode = "repeat",
        bound: float = 1.5,
        n_knots: int = 4,
        steer_dims: int | None = None,
        held: HeldMode = "zero",
        seed: int = 0,
    ) -> None:
        if chunk_size < 1 or noise_dim < 1:
            raise ValueError(f"chunk_size and noise_dim must be positive; got {chunk_size}, {noise_dim}")
        check_noise_bound(bound)
        steer_dims = noise_dim if steer_dims is None else steer_dims
        if not 1 <= steer_dims <= noise_dim:
            raise ValueError(f"steer_dims must lie in [1, noise_dim={noise_dim}]; got {steer_dims}")
        if held not in ("zero", "fixed"):
            raise ValueError(f"held must be 'zero' or 'fixed'; got {held!r}")
        self.chunk_size = chunk_size
        self.noise_dim = noise_dim
        self.mode: NoiseMode = mode
        self.bound = float(bound)
        self.n_knots = n_knots
        self.steer_dims = steer_dims
        self.held: HeldMode = held
        self.seed = seed
        self._matrix = _expansion_matrix(mode, chunk_size, n_knots)
        self._pinv = np.linalg.pinv(self._matrix)
        self._scaled_matrix = (self.bound * self._matrix).astype(np.float32)
        held_shape = (chunk_size, noise_dim - steer_dims)
        self._held_block = (
            np.random.default_rng(seed).standard_normal(held_shape)
            if held == "fixed"
            else np.zeros(held_shape)
        ).astype(np.float32)

    @property
    def n_rows(self) -> int:
        """``n``: parameter rows (1 for repeat, ``H`` for full, ``n_knots`` for knots)."""
        return self._matrix.shape[1]

    @property
    def dim(self) -> int:
        """``k = n * steer_dims``, the size of the RL action."""
        return self.n_rows * self.steer_dims

    @property
    def action_space(self) -> gym.spaces.Box:
        """The RL action space: always the unit box ``[-1, 1]^k`` (float32)."""
        return gym.spaces.Box(-1.0, 1.0, shape=(self.dim,), dtype=np.float32)

    def to_noise(self, u: np.ndarray) -> np.ndarray:
        """``u`` ``(..., k)`` in ``[-1, 1]`` -> noise ``w`` ``(..., H, D)`` float32."""
        u = np.asarray(u, dtype=np.float32)
        params = u.reshape(*u.shape[:-1], self.n_rows, self.steer_dims)
        steered = self._scaled_matrix @ params
        if self.steer_dims == self.noise_dim:
            return steered
        held = np.broadcast_to(self._held_block, (*u.shape[:-1], *self._held_block.shape))
        return np.concatenate([steered, held], axis=-1)

    def to_action(self, w: np.ndarray) -> np.ndarray:
        """Noise ``w`` ``(..., H, D)`` -> the closest RL action ``u`` ``(..., k)``, clipped to ``[-1, 1]``.

        The steered columns are projected onto the parameterization by least squares (for
        ``repeat``: the mean over the chunk); held columns are ignored.
        """
        w = np.asarray(w, dtype=np.float64)
        if w.shape[-2:] != (self.chunk_size, self.noise_dim):
            raise ValueError(f"expected noise of shape (..., {self.chunk_size}, {self.noise_dim}); got {w.shape}")
        params = np.einsum("nh,...hd->...nd", self._pinv, w[..., : self.steer_dims]) / self.bound
        flat = params.reshape(*w.shape[:-2], self.dim)
        return np.clip(flat, -1.0, 1.0).astype(np.float32)

    def sample_gaussian_action(self, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
        """RL actions whose noise is a standard-normal draw of the parameters, clipped at ``b_w``.

        This is the DSRL warm-up distribution ``w ~ N(0, I)`` expressed in ``u``:
        ``u = clip(z / b_w, -1, 1)`` with ``z ~ N(0, I_k)``.

        Returns:
            ``(k,)`` when ``n`` is None, else ``(n, k)`` float32.
        """
        shape = (self.dim,) if n is None else (n, self.dim)
        return np.clip(rng.standard_normal(shape) / self.bound, -1.0, 1.0).astype(np.float32)

    def _settings(self) -> tuple:
        return (self.chunk_size, self.noise_dim, self.mode, self.bound, self.n_knots, self.steer_dims, self.held, self.seed)

    def __eq__(self, other: object) -> bool:
        """Two noise spaces are equal when they map every latent action to the same noise."""
        return isinstance(other, NoiseSpace) and self._settings() == other._settings()

    def __hash__(self) -> int:
        return hash(self._settings())

    def __repr__(self) -> str:
        extra = f", n_knots={self.n_knots}" if self.mode == "knots" else ""
        return (
            f"NoiseSpace(H={self.chunk_size}, D={self.noise_dim}, mode={self.mode!r}{extra}, "
            f"bound={self.bound}, steer_dims={self.steer_dims}, held={self.held!r}, k={self.dim})"
        )
