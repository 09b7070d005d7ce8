"""M^w in ``N`` env worker processes that share one policy server (``latent-mdp train --policy-server``).

Each worker is SB3's ``SubprocVecEnv`` process holding one :class:`~latent_mdp.LatentActionWrapper`
over a :class:`~latent_mdp.serve.RemoteNoisePolicy`, so the workers' encode and decode calls all
go to the server, whose batching answers them together. The main process holds one more M^w over
the same server (:attr:`WorkerVecEnv.core`), never stepped, for what runs beside the envs:
DSRL-NA's decodes, the warm-up's noise space, demonstrations' inversion.

A worker that stops (its policy server failed, or its env raised) ends the step with a
:class:`~latent_mdp.serve.errors.PolicyServerError` naming it; the worker's own traceback is
printed above it. The step's transitions are not returned, so none is half written.
"""

from __future__ import annotations

import functools
from typing import Any

from stable_baselines3.common.vec_env import SubprocVecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

from latent_mdp.core import CoreViews, LatentCore
from latent_mdp.envs.generic import wrapper_from_parts
from latent_mdp.envs.registry import batch_parts, task_metrics
from latent_mdp.metrics import EpisodeMetrics
from latent_mdp.sb3.vec_env import LATENT_ATTRIBUTES
from latent_mdp.serve.errors import PolicyServerError
from latent_mdp.wrapper import LatentActionWrapper

__all__ = ["WorkerVecEnv"]


def _worker_env(env_id: str, policy_server: str, kwargs: dict[str, Any]) -> LatentActionWrapper:
    import torch

    torch.set_num_threads(1)
    return wrapper_from_parts(batch_parts(env_id, 1, policy_server=policy_server, **kwargs))


class WorkerVecEnv(CoreViews, SubprocVecEnv):
    """``n_envs`` copies of a registered id, each in its own process, over one policy server.

    Args:
        env_id: a registered DSRL id.
        n_envs: the number of worker processes.
        policy_server: the server's address (``http://HOST:PORT``).
        **kwargs: the id's kwargs (``noise``, ``action_horizon``, ...; not ``policy=``).

    Raises:
        PolicyServerUnavailable: no server answers at ``policy_server``.
    """

    def __init__(self, env_id: str, n_envs: int, policy_server: str, **kwargs: Any) -> None:
        if "policy" in kwargs or "policy_path" in kwargs:
            raise ValueError("WorkerVecEnv's workers take their policy from policy_server=; drop policy= and policy_path=")
        self._local = _worker_env(env_id, policy_server, kwargs)  # fails fast, before any worker starts
        self.task_metrics: EpisodeMetrics = task_metrics(env_id)
        super().__init__([functools.partial(_worker_env, env_id, policy_server, kwargs) for _ in range(n_envs)])

    @property
    def core(self) -> LatentCore:
        """M^w's policy calls in this process, over the same server."""
        return self._local.core

    @property
    def inner_action_space(self) -> Any:
        """The inner env's action space (one env step's action)."""
        return self._local.env.action_space

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """M^w's own settings (:data:`LATENT_ATTRIBUTES`) from this process's core, anything else from the workers."""
        if attr_name in LATENT_ATTRIBUTES:
            return [getattr(self.core, attr_name)] * len(self._get_indices(indices))
        return super().get_attr(attr_name, indices)

    def _stopped(self, error: BaseException) -> PolicyServerError:
        self.closed = True  # the pipes are broken; close() must not wait on them
        return PolicyServerError(
            f"an env worker stopped ({type(error).__name__}; its traceback is above). If the policy server "
            f"failed, start it again and continue the run with --resume"
        )

    def reset(self) -> Any:
        try:
            return super().reset()
        except (EOFError, BrokenPipeError, ConnectionResetError) as error:
            raise self._stopped(error) from error

    def step_wait(self) -> VecEnvStepReturn:
        try:
            return super().step_wait()
        except (EOFError, BrokenPipeError, ConnectionResetError) as error:
            raise self._stopped(error) from error

    def close(self) -> None:
        if self.closed:
            for process in self.processes:
                process.terminate()
            self._local.close()
            return
        super().close()
        self._local.close()
