"""`DSRLNA`: DSRL with noise aliasing (Algorithm 1 of the DSRL paper) as an SB3 off-policy algorithm.

The frozen base policy ``a = pi_dp(s, w)`` is the env's own (reached through the env, see
:mod:`agents.env_access`). One update (one gradient step of ``gradient_steps``) does:

1. **Action critic.** An ensemble ``Q^A(s, a)`` on the chosen chunk ``a`` ``(h, A)`` (whole even when
   the episode ended mid-chunk, see :mod:`agents.buffer`) regresses onto
   ``r + gamma * (1 - terminated) * combine_e Qbar^A_e(s', pi_dp(s', u'))`` with ``u' ~ pi^w(s')``
   and ``combine`` = min or mean over the ensemble. ``gamma`` is the discount of M^w **per latent
   step**, whatever the number of inner steps ``n`` the chunk ran (pass
   ``env.latent_gamma(0.99)`` to match an env-level discount). There is no entropy term in the
   target: ``Q^A`` values action chunks, and the entropy belongs to the noise actor. With
   ``n_steps > 1`` an online row's ``r`` is the discounted sum of up to ``n_steps`` rewards and its
   ``gamma`` becomes ``gamma**k`` for the ``k`` summed (:mod:`agents.buffer`, "N-step returns").
2. **Noise critic (distillation).** ``Q^w(s, u)`` regresses onto ``combine_e Q^A_e(s, pi_dp(s, w(u)))``
   for Gaussian noises ``u = clip(z / b_w)``, ``z ~ N(0, I_k)`` (``NoiseSpace.sample_gaussian_action``,
   i.e. ``w ~ N(0, I)`` clipped at ``b_w``), ``n_noise_samples`` (K) per state, on the batch's
   states ``s`` and next states ``s'``. The targets are computed once per update with the freshly
   updated ``Q^A``; the ``n_noise_critic_steps`` Adam steps then each draw ``batch_size`` pairs from
   this pool. Reusing the pool keeps the base policy at one decode per update (the expensive
   call); drawing minibatches keeps each step's cost at ``batch_size`` rows. With
   ``distill_actor_noise`` the pool also holds the TD target's pairs ``(s', u', pi_dp(s', w(u')))``,
   already decoded, so ``Q^w`` also learns where the actor acts, not only at Gaussian draws.
3. **Noise actor.** ``pi^w`` maximizes ``Q^w(s, u) - alpha * log pi^w(u | s)`` with SAC's automatic
   entropy tuning towards ``target_entropy`` (DSRL recipe: 0).

**The noise/action bank** (``noise_bank=True``, the default). The base policy is frozen, so the
distillation pairs ``(u, pi_dp(s, w(u)))`` of a stored state never change. Each state entering the
buffer is encoded once and gets ``K`` Gaussian noises decoded once (:mod:`agents.buffer`, "Noise/action
bank"), together with the networks' input. An update then re-runs the base policy only for the TD
target, whose noise is the current actor's: **one encode of B next states and one decode of B
noises**. The noise critic distils the ``B*K`` banked pairs of the batch's states.

Without the bank (``noise_bank=False``) every update draws fresh Gaussian noises, at a cost of **one
encode of 2B states and one decode of 2B*K noises**: ``s`` and ``s'`` are encoded together; each next
state's first noise is the actor's (for the TD target), all other noises are Gaussian (for
distillation). Fresh noises cover more of the noise space per state over a run; the bank trades
that for an update that is several times cheaper (``benchmarks/dsrl_na_cost.py``).

**Observations.** The replay buffer stores the inner env observations ``s``, ``s'`` (the base
policy's inputs, see :mod:`agents.buffer`). The networks read the latent actor's observation,
rebuilt from the same encode exactly as the env builds it (``obs_mode``): the env observation
(a ``Box``, or the vector entries of a ``Dict``), the base policy's features, or both. So DSRL-NA
runs on every ``LatentActionWrapper`` env, pixel VLAs included (``obs_mode="policy"`` or
``"both"``: the features stand for the images).

Before ``learning_starts`` the agent acts with Gaussian noise (``w ~ N(0, I)`` clipped at ``b_w``,
the base policy's own distribution) instead of SB3's uniform draws.

**Offline data** (:meth:`DSRLNA.add_offline`, :meth:`DSRLNA.pretrain_offline`): dataset transitions
``(s, a_chunk, r, s', terminated)`` go into the same replay buffer. They carry no ``u``/``w``
(stored as NaN; no loss reads stored noises): they train ``Q^A`` directly, and their states serve
the distillation and the actor like any other. Their observations are the dataset's env
observations (e.g. PushT's state), which must match the env's; the latent actor sees them as it
sees online ones, through ``obs_mode`` (the base policy's features of them with ``"policy"``).
For offline-to-online, load them before ``learn``; they stay as long as ``buffer_size`` is not
exceeded (the buffer is circular).
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from typing import Any, ClassVar, Literal, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import configure_logger, obs_as_tensor, polyak_update
from stable_baselines3.common.vec_env import VecEnv

from agents.buffer import BankRows, ChunkReplayBuffer, ChunkReplayBufferSamples, NoiseBankSpec, concat_observations
from agents.env_access import LatentEnv, latent_env_of
from agents.offline import ChunkTransitions, episode_transitions
from agents.policies import DSRLNAPolicy, VectorObservationExtractor
from latent_mdp.checks import positive_int
from latent_mdp.observations import batch_size_of
from latent_mdp.policy import Observation, PolicyContext
from latent_mdp.sb3.noise_prior import noise_prior_log_prob

__all__ = ["DSRLNA"]

Combine = Literal["min", "mean"]


class DSRLNA(OffPolicyAlgorithm):
    """DSRL-NA on a latent-action env (a ``LatentActionWrapper`` or a ``LatentActionVecEnv``).

    Args:
        policy: ``"MlpPolicy"``, or ``"MultiInputPolicy"`` for ``Dict`` observations (SB3's naming;
            both are :class:`agents.policies.DSRLNAPolicy`); ``policy_kwargs`` take
            ``net_arch`` (default ``[256, 256, 256]``, CPU-sized; the recipe uses 3 x 2048 on GPU)
            and ``n_critics`` (default 2).
        env: M^w (any ``obs_mode``; ``Box`` or flat ``Dict`` inner observations).
        learning_rate, buffer_size, batch_size, tau, train_freq: as SAC (recipe: 3e-4, 256, 0.005).
        learning_starts: latent steps of Gaussian warm-up before learning.
        gamma: discount per latent step (see the module docstring).
        gradient_steps: updates per rollout (UTD ratio ``gradient_steps / (train_freq * n_envs)``;
            recipe 20-30).
        n_noise_samples: K, noises decoded per state for distillation (banked once per state
            with ``noise_bank``, drawn afresh in every update without it).
        noise_bank: decode each stored state's K distillation noises once, when it enters the
            buffer, instead of in every update (see the module docstring).
        n_noise_critic_steps: noise-critic steps per update (recipe: 10).
        distill_actor_noise: also distil ``Q^w`` on the actor's noise at each next state, the pair
            the TD target decodes anyway (the paper distils on Gaussian noise only).
        critic_combine: ``"min"`` or ``"mean"`` over the action-critic ensemble.
        ent_coef: ``"auto"`` (learned, initial value 1), ``"auto_<init>"`` or a fixed float.
        target_entropy: entropy target of ``pi^w`` in ``u`` coordinates (recipe: 0).
        noise_prior: regularize ``pi^w`` toward the base noise ``N(0, I)`` instead of toward
            high entropy: the actor's ``log pi(u | s)`` becomes ``log pi(u | s) - log p(u)``
            (:func:`latent_mdp.sb3.noise_prior.noise_prior_log_prob`), so ``alpha`` weighs a KL and
            ``target_entropy = -c`` holds it near ``c`` nats, as ``NoisePriorPolicy`` does for SAC.
        target_update_interval: updates between Polyak updates of the action-critic target.
        n_steps: n-step returns in the action critic's TD target: each online row sums up to
            ``n_steps`` rewards of its episode and bootstraps ``gamma**k`` later (SB3's
            ``n_steps``; held offline rows keep one-step targets, see :mod:`agents.buffer`).
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": DSRLNAPolicy, "MultiInputPolicy": DSRLNAPolicy}
    policy: DSRLNAPolicy

    def __init__(
        self,
        policy: str | type[DSRLNAPolicy],
        env: GymEnv | str | None,
        learning_rate: float | Schedule = 3e-4,
        buffer_size: int = 1_000_000,
        learning_starts: int = 100,
        batch_size: int = 256,
        tau: float = 0.005,
        gamma: float = 0.99,
        train_freq: int | tuple[int, str] = 1,
        gradient_steps: int = 20,
        n_noise_samples: int = 4,
        noise_bank: bool = True,
        n_noise_critic_steps: int = 10,
        distill_actor_noise: bool = False,
        critic_combine: Combine = "min",
        ent_coef: str | float = "auto",
        target_entropy: float = 0.0,
        noise_prior: bool = False,
        target_update_interval: int = 1,
        n_steps: int = 1,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        super().__init__(
            policy,
            env,  # type: ignore[arg-type]
            learning_rate,
            buffer_size,
            learning_starts,
            batch_size,
            tau,
            gamma,
            train_freq,
            gradient_steps,
            replay_buffer_class=ChunkReplayBuffer,
            n_steps=positive_int("n_steps", n_steps),
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            seed=seed,
            sde_support=False,
            supported_action_spaces=(spaces.Box,),
            support_multi_env=True,
        )
        if critic_combine not in ("min", "mean"):
            raise ValueError(f"critic_combine must be 'min' or 'mean'; got {critic_combine!r}")
        if n_noise_samples < 1 or n_noise_critic_steps < 0:
            raise ValueError("n_noise_samples must be >= 1 and n_noise_critic_steps >= 0")
        self.n_noise_samples = n_noise_samples
        self.noise_bank = noise_bank
        self.n_noise_critic_steps = n_noise_critic_steps
        self.distill_actor_noise = distill_actor_noise
        self.critic_combine: Combine = critic_combine
        self.ent_coef = ent_coef
        self.target_entropy = float(target_entropy)
        self.noise_prior = noise_prior
        self.target_update_interval = target_update_interval
        self._latent: LatentEnv | None = None
        if self.env is not None:
            self._attach(self.env)
        if _init_setup_model:
            self._setup_model()

    # --- setup, env, saving -------------------------------------------------------------------

    def _attach(self, env: VecEnv) -> None:
        """Reach the base policy through ``env``; record the chunk and noise shapes it implies."""
        if self._vec_normalize_env is not None:
            raise TypeError("DSRL-NA feeds stored observations to the base policy: VecNormalize is not supported")
        self._latent = latent_env_of(env)
        self.chunk_spec = self._latent.chunk
        self.env_observation_space = self._latent.env_observation_space
        space = self._latent.core.noise_space
        self.noise_shape = (space.chunk_size, space.noise_dim)

    def set_env(self, env: GymEnv, force_reset: bool = True) -> None:
        super().set_env(env, force_reset)
        assert self.env is not None
        self._attach(self.env)

    def _setup_model(self) -> None:
        self.policy_kwargs = {**self.policy_kwargs, "chunk": self.chunk_spec}
        if self._latent is not None and self._latent.chunk != self.chunk_spec:
            raise ValueError(f"the env executes chunks {self._latent.chunk}; this model was built for {self.chunk_spec}")
        # Built here, not by SB3: its rows hold the inner observations, not the M^w ones.
        bank = None
        if self.noise_bank:
            bank = NoiseBankSpec(self.n_noise_samples, VectorObservationExtractor(self.observation_space).features_dim)
        self.replay_buffer = ChunkReplayBuffer(
            self.buffer_size,
            self.env_observation_space,
            self.action_space,
            device=self.device,
            n_envs=self.n_envs,
            chunk=self.chunk_spec,
            noise_shape=self.noise_shape,
            bank=bank,
            td_steps=self.n_steps,
            gamma=self.gamma,
        )
        with warnings.catch_warnings():
            # SB3 warns that a custom buffer class ignores n_steps; this one takes it (td_steps above).
            warnings.filterwarnings("ignore", message="`n_steps=")
            super()._setup_model()
        self._noise_rng = np.random.default_rng(self.seed)
        self.actor = self.policy.actor
        self.chunk_critic = self.policy.chunk_critic
        self.chunk_critic_target = self.policy.chunk_critic_target
        self.noise_critic = self.policy.noise_critic
        self.ent_coef_optimizer: torch.optim.Adam | None = None
        if isinstance(self.ent_coef, str):
            if not self.ent_coef.startswith("auto"):
                raise ValueError(f"ent_coef must be a float, 'auto' or 'auto_<init>'; got {self.ent_coef!r}")
            init = float(self.ent_coef.split("_")[1]) if "_" in self.ent_coef else 1.0
            self.log_ent_coef = torch.log(torch.full((1,), init, device=self.device)).requires_grad_(True)
            self.ent_coef_optimizer = torch.optim.Adam([self.log_ent_coef], lr=self.lr_schedule(1))
        else:
            self.log_ent_coef = torch.log(torch.full((1,), float(self.ent_coef), device=self.device))

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "actor", "chunk_critic", "chunk_critic_target", "noise_critic", "_latent"]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts = ["policy", "actor.optimizer", "chunk_critic.optimizer", "noise_critic.optimizer"]
        if self.ent_coef_optimizer is not None:
            state_dicts.append("ent_coef_optimizer")
        return state_dicts, ["log_ent_coef"]

    @property
    def latent(self) -> LatentEnv:
        """The env's base policy, noise space and chunk spec (needs an env)."""
        if self._latent is None:
            raise RuntimeError("DSRLNA needs its env (the base policy lives there): pass env= to load or set_env")
        return self._latent

    # --- acting ---------------------------------------------------------------------------------

    def _sample_action(
        self, learning_starts: int, action_noise: Any = None, n_envs: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gaussian noise (``w ~ N(0, I)`` clipped at ``b_w``) before ``learning_starts``, then ``pi^w``."""
        if self.num_timesteps < learning_starts:
            u = self.latent.core.noise_space.sample_gaussian_action(self._noise_rng, n_envs)
            return u, u
        return super()._sample_action(learning_starts, action_noise, n_envs)

    def learn(
        self,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "DSRLNA",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> DSRLNA:
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)

    # --- offline data ---------------------------------------------------------------------------

    def add_offline(self, transitions: ChunkTransitions, *, fraction: float | None = None) -> int:
        """Put dataset transitions into the replay buffer; returns how many rows were written.

        Their observations are inner env observations, laid out as the env's (the buffer checks).
        With ``fraction`` (in ``[0, 1)``, before any online step) the buffer holds them for good and
        fills that share of every batch with them (symmetric sampling, :meth:`ChunkReplayBuffer.hold`);
        without it they are ordinary rows that online data overwrites in turn.
        """
        if transitions.chunks.shape[1:] != (self.chunk_spec.horizon, self.chunk_spec.action_dim):
            raise ValueError(
                f"offline chunks have shape {transitions.chunks.shape[1:]}; the env executes "
                f"(h, A) = ({self.chunk_spec.horizon}, {self.chunk_spec.action_dim})"
            )
        m = len(transitions)
        unknown = lambda *shape: np.full((m, *shape), np.nan, dtype=np.float32)  # noqa: E731
        self.replay_buffer.add_transitions(  # type: ignore[union-attr]
            observations=transitions.observations,
            next_observations=transitions.next_observations,
            actions=unknown(self.action_space.shape[0]),
            noises=unknown(*self.noise_shape),
            chunks=transitions.chunks,
            n_steps=transitions.n_steps,
            rewards=transitions.rewards,
            terminated=transitions.terminated,
            truncated=np.zeros(m, dtype=bool),
        )
        if fraction is not None:
            self.replay_buffer.hold(fraction)  # type: ignore[union-attr]
        if self.noise_bank:
            self.replay_buffer.fill_bank(self.bank_rows)  # type: ignore[union-attr]
        return m

    def add_episodes(self, episodes: Sequence[Any], *, fraction: float | None = None) -> int:
        """Put recorded episodes into the replay buffer as real-action transitions, one per ``h`` steps.

        Each episode has ``observations`` (``T + 1`` inner observations), ``actions`` ``(T, A)``,
        ``rewards`` ``(T,)`` and ``terminated``, as :class:`latent_mdp.tasks.episode.ExpertEpisode`;
        ``fraction`` as :meth:`add_offline`. Returns how many transitions were written.

        Raises:
            ValueError: the env discounts rewards within a chunk or holds a noise for several
                chunks (these transitions sum one chunk's rewards), or an episode is malformed.
        """
        core = None if self._latent is None else self._latent.core
        if core is not None and (core.reward_mode != "sum" or core.replans != 1):
            raise ValueError(
                f"episodes become one chunk transition per h steps with summed rewards; this env has reward mode "
                f"{core.reward_mode!r} and re-plans {core.replans} chunks per noise"
            )
        h = self.chunk_spec.horizon
        parts = [episode_transitions(e.observations, e.actions, e.rewards, e.terminated, h) for e in episodes]
        return self.add_offline(ChunkTransitions.concatenate(parts), fraction=fraction)

    def pretrain_offline(self, n_updates: int, batch_size: int | None = None) -> DSRLNA:
        """Run ``n_updates`` updates on the buffer as it is (e.g. offline data only), without acting."""
        if self.replay_buffer is None or self.replay_buffer.size() == 0:
            raise ValueError("the replay buffer is empty: add_offline (or learn) first")
        if not hasattr(self, "_logger"):
            self.set_logger(configure_logger(self.verbose, self.tensorboard_log, "DSRLNA_offline"))
        self.train(n_updates, batch_size or self.batch_size)
        return self

    # --- training -------------------------------------------------------------------------------

    def train(self, gradient_steps: int, batch_size: int = 256) -> None:
        self.policy.set_training_mode(True)
        optimizers = [self.actor.optimizer, self.chunk_critic.optimizer, self.noise_critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers.append(self.ent_coef_optimizer)
        self._update_learning_rate(optimizers)
        logs: dict[str, list[float]] = defaultdict(list)
        if self.noise_bank:
            self.replay_buffer.fill_bank(self.bank_rows)  # type: ignore[union-attr]
        for step in range(gradient_steps):
            batch = self.replay_buffer.sample(batch_size)  # type: ignore[union-attr]
            for key, value in self._update(batch, batch_size).items():  # type: ignore[arg-type]
                logs[key].append(value)
            if step % self.target_update_interval == 0:
                polyak_update(self.chunk_critic.parameters(), self.chunk_critic_target.parameters(), self.tau)
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        for key, values in logs.items():
            self.logger.record(f"train/{key}", float(np.mean(values)))

    def _combine(self, q: torch.Tensor) -> torch.Tensor:
        """``(n_critics, B)`` -> ``(B,)`` by min or mean over the ensemble."""
        return q.min(dim=0).values if self.critic_combine == "min" else q.mean(dim=0)

    def bank_rows(self, states: Observation) -> BankRows:
        """The bank of ``M`` inner observations: their networks' input and ``K`` decoded Gaussian noises each.

        Returns:
            :class:`agents.buffer.BankRows`: ``(M, O)``, ``(M, K, k)``, ``(M, K, h, A)`` numpy arrays.
        """
        n_states, k_noises = batch_size_of(states), self.n_noise_samples
        with torch.no_grad():
            ctx, net_obs = self.encode_states(states)
            u = self.latent.core.noise_space.sample_gaussian_action(self._noise_rng, n_states * k_noises)
            chunks = self._decode(ctx, u)
        return BankRows(
            net_obs.cpu().numpy(),
            u.reshape(n_states, k_noises, -1),
            chunks.cpu().numpy().reshape(n_states, k_noises, *chunks.shape[1:]),
        )

    def _update(self, batch: ChunkReplayBufferSamples, batch_size: int) -> dict[str, float]:
        """One update: the base-policy calls (banked or fresh), then the three losses."""
        if batch.bank is not None:
            return self._update_banked(batch, batch.bank, batch_size)
        ctx, net_obs = self.encode_states(concat_observations(batch.observations, batch.next_observations))
        obs, next_obs = net_obs[:batch_size], net_obs[batch_size:]
        with torch.no_grad():
            next_u = self.actor(next_obs)
        u, chunks = self.decode_candidates(ctx, next_u)
        return {
            "critic_loss": self.chunk_critic_step(batch, obs, next_obs, chunks[batch_size:, 0]),
            "noise_critic_loss": self.noise_critic_steps(net_obs, u, chunks, batch_size),
            **self.actor_step(obs),
        }

    def _update_banked(self, batch: ChunkReplayBufferSamples, bank: BankRows, batch_size: int) -> dict[str, float]:
        """One update on banked states: one encode of ``s'`` and one decode of ``B`` noises, for the TD target."""
        with torch.no_grad():
            ctx, next_obs = self.encode_states(batch.next_observations)
            next_u = self.actor(next_obs)
            next_chunks = self._decode(ctx, next_u.cpu().numpy())
        obs = bank.net_observations
        pair_obs = obs[:, None].expand(-1, bank.noises.shape[1], -1).flatten(0, 1)
        pair_u, pair_chunks = bank.noises.flatten(0, 1), bank.chunks.flatten(0, 1)
        if self.distill_actor_noise:
            pair_obs = torch.cat([pair_obs, next_obs])
            pair_u, pair_chunks = torch.cat([pair_u, next_u]), torch.cat([pair_chunks, next_chunks])
        return {
            "critic_loss": self.chunk_critic_step(batch, obs, next_obs, next_chunks),
            "noise_critic_loss": self.distill(pair_obs, pair_u, pair_chunks, batch_size),
            **self.actor_step(obs),
        }

    def encode_states(self, states: Observation) -> tuple[PolicyContext, torch.Tensor]:
        """One ``encode`` of ``n`` inner observations, and the networks' input for them.

        Args:
            states: ``(n, *obs)`` inner env observations (arrays, or dicts of them).

        Returns:
            The base policy's context and the networks' input ``(n, O)``: the latent actor's
            observation built as the env builds it (``obs_mode``), then vectorized.
        """
        core = self.latent.core
        ctx = core.encode_states(states)
        latent_obs = core.observations.build(states, core.features(ctx, batch_size_of(states)))
        return ctx, self.policy.features(obs_as_tensor(latent_obs, self.device))

    def decode_chunks(self, states: Observation, u: np.ndarray) -> torch.Tensor:
        """``pi_dp(s, w(u))`` for ``K`` latent actions per state, in one encode and one decode.

        Args:
            states: ``(n, *obs)`` inner env observations.
            u: ``(n * K, k)`` latent actions; row ``i`` belongs to state ``i // K``.

        Returns:
            ``(n * K, h, A)`` chunks in env units on the agent's device.
        """
        return self._decode(self.latent.core.encode_states(states), u)

    def _decode(self, ctx: PolicyContext, u: np.ndarray) -> torch.Tensor:
        """Chunks ``(n * K, h, A)`` for latent actions ``u`` ``(n * K, k)`` on ``n`` encoded states, on the agent's device."""
        return self.latent.core.decode_actions(ctx, u).to(self.device)

    def decode_candidates(self, ctx: PolicyContext, next_u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode K noises for each of ``2B`` encoded states ``[s; s']`` in one decode.

        Args:
            ctx: the base policy's context of ``2B`` states, the batch's ``s`` then its ``s'``.
            next_u: ``(B, k)`` the actor's action at each ``s'``; it becomes the first noise of
                that state. Every other noise is Gaussian (``w ~ N(0, I)`` clipped at ``b_w``).

        Returns:
            ``u`` ``(2B, K, k)`` and the chunks ``(2B, K, h, A)`` in env units, on the agent's device.
        """
        n_states, k_noises = ctx.batch_size, self.n_noise_samples
        noise_space = self.latent.core.noise_space
        u = noise_space.sample_gaussian_action(self._noise_rng, n_states * k_noises).reshape(n_states, k_noises, -1)
        u[n_states - len(next_u) :, 0] = next_u.cpu().numpy()
        chunks = self._decode(ctx, u.reshape(n_states * k_noises, -1))
        return torch.from_numpy(u).to(self.device), chunks.reshape(n_states, k_noises, *chunks.shape[1:])

    def chunk_critic_step(
        self, batch: ChunkReplayBufferSamples, obs: torch.Tensor, next_obs: torch.Tensor, next_chunks: torch.Tensor
    ) -> float:
        """One TD step of the ``Q^A`` ensemble; ``next_chunks`` ``(B, h, A)`` = ``pi_dp(s', pi^w(s'))``."""
        with torch.no_grad():
            next_q = self._combine(self.chunk_critic_target(next_obs, next_chunks))
            discounts = self.gamma if batch.discounts is None else batch.discounts.squeeze(1)
            target = batch.rewards.squeeze(1) + (1 - batch.dones.squeeze(1)) * discounts * next_q
        q = self.chunk_critic(obs, batch.chunks)
        loss = 0.5 * ((q - target) ** 2).mean(dim=1).sum()
        self.chunk_critic.optimizer.zero_grad()
        loss.backward()
        self.chunk_critic.optimizer.step()
        return loss.item()

    def noise_critic_steps(self, obs: torch.Tensor, u: torch.Tensor, chunks: torch.Tensor, batch_size: int) -> float:
        """Distil ``Q^A(s, pi_dp(s, w(u)))`` into ``Q^w(s, u)`` on the Gaussian pairs (and the actor's, see ``distill_actor_noise``).

        Args:
            obs: ``(2B, O)`` features of ``[s; s']``; ``u`` ``(2B, K, k)``; ``chunks`` ``(2B, K, h, A)``.
        """
        n_states, k_noises = u.shape[:2]
        distilled = torch.ones(n_states, k_noises, dtype=torch.bool, device=self.device)
        distilled[n_states // 2 :, 0] = self.distill_actor_noise  # the actor's noise at s', used by the TD target
        pair_obs = obs[:, None].expand(-1, k_noises, -1)[distilled]
        return self.distill(pair_obs, u[distilled], chunks[distilled], batch_size)

    def distill(self, pair_obs: torch.Tensor, pair_u: torch.Tensor, pair_chunks: torch.Tensor, batch_size: int) -> float:
        """``n_noise_critic_steps`` steps of ``Q^w(s, u)`` onto ``combine_e Q^A_e(s, chunk)``, minibatches of ``batch_size``.

        Args:
            pair_obs: ``(P, O)`` networks' inputs; ``pair_u`` ``(P, k)``; ``pair_chunks`` ``(P, h, A)``
                ``= pi_dp(s, w(u))``.
        """
        with torch.no_grad():
            targets = self._combine(self.chunk_critic(pair_obs, pair_chunks))
        losses = []
        for _ in range(self.n_noise_critic_steps):
            idx = torch.randint(len(targets), (batch_size,), device=self.device)
            loss = F.mse_loss(self.noise_critic(pair_obs[idx], pair_u[idx]), targets[idx])
            self.noise_critic.optimizer.zero_grad()
            loss.backward()
            self.noise_critic.optimizer.step()
            losses.append(loss.item())
        return float(np.mean(losses)) if losses else float("nan")

    def actor_step(self, obs: torch.Tensor) -> dict[str, float]:
        """One SAC-style step of ``pi^w`` on ``Q^w``, and of ``alpha`` towards the target entropy (or KL)."""
        u, log_prob = self.actor.action_log_prob(obs)
        if self.noise_prior:
            log_prob = log_prob - noise_prior_log_prob(u, self.latent.core.noise_space.bound)
        logs = {}
        if self.ent_coef_optimizer is not None:
            ent_coef_loss = -(self.log_ent_coef * (log_prob + self.target_entropy).detach()).mean()
            self.ent_coef_optimizer.zero_grad()
            ent_coef_loss.backward()
            self.ent_coef_optimizer.step()
            logs["ent_coef_loss"] = ent_coef_loss.item()
        alpha = self.log_ent_coef.detach().exp()
        actor_loss = (alpha * log_prob - self.noise_critic(obs, u)).mean()
        self.actor.optimizer.zero_grad()
        actor_loss.backward()
        self.actor.optimizer.step()
        return {**logs, "actor_loss": actor_loss.item(), "ent_coef": alpha.item(), "entropy": -log_prob.mean().item()}
