"""A scripted expert for ``gym_pusht/PushT-v0``: greedy contact selection on quasi-static pushing.

PushT's physics make pushing quasi-static and frictionless: the space damping is 0,
so pymunk zeroes the block's velocity every substep and the block moves only while the agent pushes
it, and the shapes have friction 0, so the agent can only push along the contact normal. A push of
depth ``d`` at boundary point ``p`` along the inward normal ``n`` therefore moves the block's centre of
gravity ``c`` by ``k n`` and turns it by ``k (r x n) / rho^2`` (``r = p - c``, ``rho^2 = I / m = 3000``),
with ``k = d / (1 + (r x n)^2 / rho^2)``.

Measuring the pose error in the metric ``e = (c_goal - c, rho * dtheta)`` (px), a push at contact ``i``
moves the pose along ``xi_i = (n_i, tau_i)`` with ``tau_i = (r_i x n_i) / rho``; the push depth that
best reduces ``|e|`` is ``d_i = e . xi_i`` and it removes ``(e . xi_i)^2 / |xi_i|^2`` of ``|e|^2``.

Every step the expert (1) picks the contact whose push direction is best aligned with ``e``, minus
a travel cost, (2) if the agent is not at that contact, moves it there around the block without
touching it (straight when the way is clear, otherwise along a convex ring around the block, the
way round that stays inside the 512 x 512 arena; contacts that cannot be reached are skipped), and
(3) pushes by ``d_i``. A small bonus for the current contact stops dithering between near ties.
The agent is a PD-controlled disk (``k_p = 100``, ``k_v = 20``, 10 substeps of
0.01 s per 10 Hz step) and the action is its absolute target position.

Only the ``state`` observation ``[agent_x, agent_y, block_x, block_y, block_angle]`` is read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon

from latent_mdp.tasks.episode import ExpertEpisode

__all__ = [
    "AGENT_RADIUS",
    "BLOCK_COG",
    "BLOCK_RHO2",
    "GOAL_POSE",
    "T_OUTLINE",
    "ExpertConfig",
    "PushTExpert",
    "EpisodeResult",
    "run_episode",
    "evaluate_expert",
    "record_expert_episode",
]

AGENT_RADIUS = 15.0
"""Radius of the agent disk (px)."""
GOAL_POSE = np.array([256.0, 256.0, np.pi / 4])
"""Goal pose ``(x, y, theta)`` of the block's body origin, as in ``PushTEnv._setup``."""
T_OUTLINE = np.array(
    [[-60, 0], [60, 0], [60, 30], [15, 30], [15, 120], [-15, 120], [-15, 30], [-60, 30]], dtype=np.float64
)
"""(8, 2) counter-clockwise outline of the T in the block frame (union of the bar and stem of ``add_tee``)."""
BLOCK_COG = np.array([0.0, 45.0])
"""Centre of gravity in the block frame: the mean of the bar's and the stem's centroids (as ``add_tee`` sets it)."""
BLOCK_RHO2 = 3000.0
"""``I / m`` of the block (``add_tee`` gives mass 1 and moment 3000)."""
_PD_KP, _PD_KV, _SUBSTEP, _SUBSTEPS = 100.0, 20.0, 0.01, 10


def _rotation(theta: float) -> np.ndarray:
    """(2, 2) rotation matrix."""
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


def _wrap(angle: float) -> float:
    """Angle wrapped to ``[-pi, pi)``."""
    return (angle + np.pi) % (2 * np.pi) - np.pi


@dataclass(frozen=True)
class ExpertConfig:
    """Tuning knobs of :class:`PushTExpert` (lengths in px)."""

    contact_spacing: float = 4.0
    """Spacing of the candidate contact points along the T's outline."""
    approach_gap: float = 3.0
    """Gap between agent and block at the pre-contact point."""
    ring_margin: float = 14.0
    """Clearance of the travel ring around the block, beyond the agent radius."""
    lookahead: float = 45.0
    """How far ahead along the ring the travel target is placed."""
    ring_spacing: float = 4.0
    """Spacing of the ring samples checked against the arena bounds."""
    max_push: float = 25.0
    """Largest push depth commanded in one step."""
    travel_cost: float = 0.004
    """Penalty per px of travel, against the cosine alignment of a contact's push with the error."""
    stickiness: float = 0.1
    """Bonus of the current contact's score, against dithering between near-equal contacts."""
    corridor: float = 5.0
    """Lateral tolerance (and extra normal gap) within which the agent counts as at its contact."""


class _Contacts:
    """Candidate contacts on the T's outline, in the block frame.

    Attributes:
        points: (K, 2) contact points on the outline.
        normals: (K, 2) inward unit normals.
        tangents: (K, 2) unit tangents.
        tau: (K,) normalised moment arms ``(r x n) / rho``.
        approach: (K, 2) pre-contact agent centres ``p - n (R + gap)``.
        exits: (K, 2) where the ray from ``approach`` along ``-n`` leaves the travel ring.
        exit_s: (K,) arc length of ``exits`` along the ring.
        ring_s, ring_points: (M,), (M, 2) samples of the ring, to check that a route stays in the arena.
    """

    def __init__(self, cfg: ExpertConfig) -> None:
        self.outline = Polygon(T_OUTLINE)
        hull = self.outline.buffer(AGENT_RADIUS + cfg.ring_margin).convex_hull
        self.ring_polygon = hull
        self.ring = hull.exterior
        points, normals = [], []
        for a, b in zip(T_OUTLINE, np.roll(T_OUTLINE, -1, axis=0), strict=True):
            edge = b - a
            length = float(np.linalg.norm(edge))
            n_points = max(int(length // cfg.contact_spacing), 1)
            inward = np.array([-edge[1], edge[0]]) / length  # CCW outline: left normal points inside
            for t in (np.arange(n_points) + 0.5) / n_points:
                points.append(a + t * edge)
                normals.append(inward)
        points, normals = np.array(points), np.array(normals)
        approach = points - normals * (AGENT_RADIUS + cfg.approach_gap)
        # The agent disk must fit at the contact without touching another edge (concave corners).
        touch = points - normals * AGENT_RADIUS
        fits = shapely.distance(shapely.points(touch), self.outline) >= AGENT_RADIUS - 0.5
        self.points, self.normals, self.approach = points[fits], normals[fits], approach[fits]
        self.tangents = np.stack([self.normals[:, 1], -self.normals[:, 0]], axis=1)
        r = self.points - BLOCK_COG
        self.tau = (r[:, 0] * self.normals[:, 1] - r[:, 1] * self.normals[:, 0]) / np.sqrt(BLOCK_RHO2)
        self.exits = np.array([self._exit(p, n) for p, n in zip(self.approach, self.normals, strict=True)])
        self.exit_s = np.array([self.ring.project(Point(e)) for e in self.exits])
        self.ring_s = np.arange(0.0, self.ring.length, cfg.ring_spacing)
        self.ring_points = np.array([self.ring.interpolate(s).coords[0] for s in self.ring_s])

    def _exit(self, approach: np.ndarray, normal: np.ndarray) -> np.ndarray:
        """Point where the ray from ``approach`` along ``-normal`` crosses the travel ring."""
        if not self.ring_polygon.contains(Point(approach)):
            return approach
        ray = LineString([approach, approach - 1000 * normal])
        return np.array(ray.intersection(self.ring).coords[0])


class PushTExpert:
    """Greedy contact-selection expert for PushT, stateless between steps except for its chosen contact.

    Call :meth:`reset` at the start of an episode, then :meth:`act` on every ``state`` observation.
    """

    def __init__(self, config: ExpertConfig | None = None) -> None:
        self.cfg = config or ExpertConfig()
        self.contacts = _Contacts(self.cfg)
        self.rho = np.sqrt(BLOCK_RHO2)
        self.contact: int | None = None

    def reset(self) -> None:
        """Forget the contact chosen in the previous episode."""
        self.contact = None

    def pose_error(self, block_pose: np.ndarray) -> np.ndarray:
        """(3,) error ``(c_goal - c, rho * dtheta)`` in px, world frame, ``c`` the centre of gravity."""
        x, y, theta = block_pose
        cog = np.array([x, y]) + _rotation(theta) @ BLOCK_COG
        goal_cog = GOAL_POSE[:2] + _rotation(GOAL_POSE[2]) @ BLOCK_COG
        return np.array([*(goal_cog - cog), self.rho * _wrap(GOAL_POSE[2] - theta)])

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Action for one ``state`` observation.

        Args:
            obs: (5,) ``[agent_x, agent_y, block_x, block_y, block_angle]``.

        Returns:
            (2,) float32 absolute target position of the agent, in ``[0, 512]``.
        """
        agent, origin, theta = obs[:2].astype(np.float64), obs[2:4].astype(np.float64), float(obs[4])
        rot = _rotation(theta)
        agent_local = rot.T @ (agent - origin)
        error = self.pose_error(np.array([*origin, theta]))
        routes = _Routes(self.contacts, agent_local, origin, rot, self.cfg.lookahead)
        i = self._choose_contact(agent_local, error, routes, rot)
        c = self.contacts
        if self._at_contact(agent_local, i):
            push = float(np.clip(error[:2] @ (rot @ c.normals[i]) + error[2] * c.tau[i], 0.0, self.cfg.max_push))
            target_local = c.points[i] + c.normals[i] * (push - AGENT_RADIUS)
        else:
            target_local = self._travel_target(agent_local, i, routes)
        target = origin + rot @ target_local
        return np.clip(target, 0.0, 512.0).astype(np.float32)

    def _choose_contact(self, agent_local: np.ndarray, error: np.ndarray, routes: _Routes, rot: np.ndarray) -> int:
        """Index of the reachable contact whose push is best aligned with ``error``, net of travel."""
        c = self.contacts
        gain = (c.normals @ rot.T) @ error[:2] + c.tau * error[2]
        cosine = gain / (np.sqrt(1.0 + c.tau**2) * (np.linalg.norm(error) + 1e-9))
        travel = np.maximum(np.linalg.norm(c.approach - agent_local, axis=1) - self.cfg.corridor, 0.0)
        score = cosine - self.cfg.travel_cost * travel
        if self.contact is not None:
            score[self.contact] += self.cfg.stickiness
        score[~routes.reachable] = -np.inf
        self.contact = int(np.argmax(score))
        return self.contact

    def _at_contact(self, agent_local: np.ndarray, i: int) -> bool:
        """Whether the agent sits in contact ``i``'s push corridor."""
        c = self.contacts
        offset = agent_local - c.points[i]
        lateral = abs(offset @ c.tangents[i])
        gap = -(offset @ c.normals[i]) - AGENT_RADIUS
        return lateral <= self.cfg.corridor and -self.cfg.corridor <= gap <= self.cfg.approach_gap + self.cfg.corridor

    def _clear(self, start: np.ndarray, end: np.ndarray) -> bool:
        """Whether the agent can move straight from ``start`` to ``end`` (block frame) without new contact."""
        outline = self.contacts.outline
        d_start = outline.distance(Point(start))
        d_end = outline.distance(Point(end))
        d_path = outline.distance(LineString([start, end])) if np.any(start != end) else d_start
        return d_path >= min(AGENT_RADIUS + 1.0, d_start, d_end) - 0.5

    def _travel_target(self, agent_local: np.ndarray, i: int, routes: _Routes) -> np.ndarray:
        """(2,) next travel waypoint (block frame) toward contact ``i``'s pre-contact point."""
        c = self.contacts
        if self._clear(agent_local, c.approach[i]):
            return c.approach[i]
        if self._clear(agent_local, c.exits[i]):
            return c.exits[i]
        if c.ring_polygon.contains(Point(agent_local)):  # back away from the block onto the ring
            nearest = np.array(shapely.shortest_line(c.outline, Point(agent_local)).coords[0])
            away = agent_local - nearest
            return agent_local + away / (np.linalg.norm(away) + 1e-9) * self.cfg.lookahead
        arc = routes.arc(i)
        step = float(np.clip(arc, -self.cfg.lookahead, self.cfg.lookahead))
        return np.array(c.ring.interpolate((routes.s_agent + step) % c.ring.length).coords[0])


class _Routes:
    """Which way round the travel ring reaches each contact while staying inside the arena.

    Ring samples outside ``[0, 512]^2`` block the ring; samples within ``skip`` of the agent's
    projection on the ring are ignored, so an agent squeezed between block and wall can leave.

    Attributes:
        s_agent: arc length of the agent's projection on the ring.
        forward: (K,) arc length from the agent to each contact's exit point, going forward.
        reachable: (K,) whether some direction round the ring is free (and the approach is in the arena).
    """

    def __init__(self, contacts: _Contacts, agent_local: np.ndarray, origin: np.ndarray, rot: np.ndarray, skip: float):
        length = contacts.ring.length
        self.s_agent = contacts.ring.project(Point(agent_local))
        self.forward = (contacts.exit_s - self.s_agent) % length
        ring_world = origin + contacts.ring_points @ rot.T
        blocked = np.any((ring_world < 0.0) | (ring_world > 512.0), axis=1)
        ahead = (contacts.ring_s[blocked] - self.s_agent) % length
        behind = (self.s_agent - contacts.ring_s[blocked]) % length
        self.first_block_ahead = float(np.min(ahead[ahead > skip], initial=np.inf))
        self.first_block_behind = float(np.min(behind[behind > skip], initial=np.inf))
        self.free_forward = self.forward < self.first_block_ahead
        self.free_backward = length - self.forward < self.first_block_behind
        approach_world = origin + contacts.approach @ rot.T
        in_arena = np.all((approach_world >= 0.0) & (approach_world <= 512.0), axis=1)
        self.reachable = in_arena & (self.free_forward | self.free_backward)
        self.length = length

    def arc(self, i: int) -> float:
        """Signed arc length to contact ``i``'s exit: the shorter free direction (either if none is free)."""
        forward, backward = self.forward[i], self.forward[i] - self.length
        if self.free_forward[i] == self.free_backward[i]:
            return forward if forward <= -backward else backward
        return forward if self.free_forward[i] else backward


@dataclass(frozen=True)
class EpisodeResult:
    """Outcome of one expert episode."""

    success: bool
    max_coverage: float
    steps: int
    seconds: float


def run_episode(env: gym.Env, expert: PushTExpert, seed: int) -> EpisodeResult:
    """Roll the expert out for one episode of a ``state``-observation PushT env."""
    start = time.perf_counter()
    obs, _ = env.reset(seed=seed)
    expert.reset()
    max_coverage, steps, success = 0.0, 0, False
    while True:
        obs, _, terminated, truncated, info = env.step(expert.act(obs))
        steps += 1
        max_coverage = max(max_coverage, float(info["coverage"]))
        success = success or bool(info["is_success"])
        if terminated or truncated:
            break
    return EpisodeResult(success, max_coverage, steps, time.perf_counter() - start)


def record_expert_episode(env: gym.Env, expert: PushTExpert, seed: int) -> ExpertEpisode:
    """Roll the expert out once on a PushT env with ``state`` observations, recording everything.

    ``env`` may wrap PushT (e.g. with another reward); its rewards are the ones recorded.
    """
    obs, _ = env.reset(seed=seed)
    expert.reset()
    observations, actions, rewards = [obs], [], []
    while True:
        action = expert.act(obs)
        obs, reward, terminated, truncated, _ = env.step(action)
        observations.append(obs)
        actions.append(action)
        rewards.append(float(reward))
        if terminated or truncated:
            return ExpertEpisode(observations, np.asarray(actions, dtype=np.float32), np.asarray(rewards), bool(terminated))


def evaluate_expert(seeds: range | list[int], config: ExpertConfig | None = None) -> list[EpisodeResult]:
    """Run the expert on ``gym_pusht/PushT-v0`` (``obs_type="state"``) once per seed."""
    import gym_pusht  # noqa: F401  (registers the env)

    env = gym.make("gym_pusht/PushT-v0", obs_type="state")
    expert = PushTExpert(config)
    try:
        return [run_episode(env, expert, seed) for seed in seeds]
    finally:
        env.close()


def main() -> None:
    """``python -m latent_mdp.tasks.pusht.expert --episodes 100``: success, coverage and time per episode."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="first seed; episodes use seed, seed+1, ...")
    args = parser.parse_args()
    results = evaluate_expert(range(args.seed, args.seed + args.episodes))
    success = np.mean([r.success for r in results])
    coverage = np.mean([r.max_coverage for r in results])
    seconds = np.mean([r.seconds for r in results])
    steps = np.mean([r.steps for r in results])
    print(
        f"{len(results)} episodes: success {success:.2%}, mean max coverage {coverage:.3f}, "
        f"{steps:.0f} steps and {seconds:.3f} s per episode"
    )
    failed = [seed for seed, r in zip(range(args.seed, args.seed + args.episodes), results, strict=True) if not r.success]
    print(f"failed seeds: {failed}")


if __name__ == "__main__":
    main()
