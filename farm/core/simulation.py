"""The step loop: observe -> decide -> act -> regenerate resources -> update index -> log.

Every stage is a method, so benchmarks and profilers can call and time each one alone. Within
the act stage all actions resolve simultaneously against the state at the start of the stage:

* MOVE: toward the nearest perceived non-empty node (stopping on it), else in a random heading;
  positions are clamped to the world.
* GATHER: requests on one node are granted in full when they fit its amount; otherwise the node
  is emptied and split in proportion to the requests (:meth:`ResourceManager.consume`).
* SHARE: the giver hands ``min(share_amount, its resources)`` to its nearest ally; gifts add up.
* ATTACK: damage to one target adds up over attackers; a DEFENDing target takes
  ``defend_factor`` of each hit. Health is floored at 0.
* REPRODUCE: when more agents ask than the population cap leaves room for, the lowest agent ids
  reproduce first. The parent pays ``reproduce_cost``; the child appears within
  ``birth_radius`` of the parent at the end of the step.
* Then every agent consumes ``consumption``; an agent with no resources left adds one to its
  starvation counter (otherwise it resets); agents with health 0 or a counter past
  ``starvation_threshold`` die.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum

import numpy as np

from farm.config import SimulationConfig
from farm.core.actions import NUM_ACTIONS, Action
from farm.core.records import InteractionKind, StepLog
from farm.core.state import ALLY_MATRIX, AgentState, AgentType
from farm.core.targets import NeighborPairs
from farm.decision import make_policy
from farm.observation import make_observation_builder
from farm.resources.manager import ResourceManager
from farm.spatial import make_index
from farm.storage import make_logger

__all__ = ["Stage", "Simulation", "RunSummary", "run_simulation"]

_EMPTY_I64 = np.zeros(0, dtype=np.int64)
# ALLY_MATRIX flattened, read with ``take`` at ``observer_type * 3 + other_type``.
_ALLY_FLAT = ALLY_MATRIX.ravel()


class Stage(Enum):
    """The loop's stages, in order; values are the method names."""

    OBSERVE = "observe"
    DECIDE = "decide"
    ACT = "act"
    REGENERATE = "regenerate_resources"
    UPDATE_INDEX = "update_spatial_index"
    LOG = "log_step"


@dataclass(frozen=True)
class RunSummary:
    """What :meth:`Simulation.run` reports."""

    steps: int
    seconds: float
    population_by_type: dict[str, int]
    db_path: str | None
    run_id: int | None

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else float("inf")


def _query_radius(radius: float) -> float:
    """Radius handed to an index: a hair larger than the rule's, so every index returns a
    superset of the true neighbours; the engine then applies the exact ``<=`` test itself."""
    return radius * (1.0 + 1e-9) + 1e-12


class Simulation:
    """One seeded simulation run. Use as a context manager, or call :meth:`close`."""

    def __init__(self, config: SimulationConfig) -> None:
        if not isinstance(config, SimulationConfig):
            raise TypeError(f"config must be a SimulationConfig, got {type(config).__name__}")
        self.config = config
        self.closed = False
        self.logger = None
        self.resources = None
        # Independent streams: agent placement/births, resources, movement, one per policy.
        streams = np.random.SeedSequence(config.seed).spawn(3 + len(AgentType))
        self.rng_agents = np.random.default_rng(streams[0])
        self.rng_move = np.random.default_rng(streams[2])
        self.logger = make_logger(config.storage, config.to_json(), config.seed)  # checks the DB path first
        try:
            self._build(config, streams)
        except BaseException:
            self.close("failed")
            raise

    def _build(self, config: SimulationConfig, streams) -> None:
        world, agents = config.world, config.agents
        self.bounds = np.array([world.width, world.height], dtype=np.float64)
        index_options = config.spatial.index_options() if hasattr(config.spatial, "index_options") else {}
        self._make_index = lambda positions: make_index(
            config.spatial.index, positions, bounds=(world.width, world.height), **index_options
        )
        self.resources = ResourceManager(
            config.resources, world.width, world.height, np.random.default_rng(streams[1]), self._make_index
        )
        self.resource_index = self.resources.index

        self.state = AgentState()
        types = np.repeat(np.arange(len(AgentType), dtype=np.int8), agents.counts())
        n = types.shape[0]
        self.state.append(
            positions=self.rng_agents.random((n, 2)) * self.bounds,
            agent_types=types,
            resources=np.full(n, agents.initial_resources),
            health=np.full(n, agents.max_health),
            generation=np.zeros(n, dtype=np.int32),
            parent_ids=np.full(n, -1, dtype=np.int64),
        )
        self.agent_index = self._make_index(self.state.positions)
        self.observation_builder = make_observation_builder(
            config.observation, world, self.state, self.resources, max_health=agents.max_health
        )
        self.policies = {
            agent_type: make_policy(
                config.decision.policy_for(agent_type.name.lower()),
                config.decision,
                agent_type,
                self.observation_builder.shape,
                int(streams[3 + agent_type].generate_state(1)[0]),
            )
            for agent_type in AgentType
        }
        if self.logger is not None:
            s = self.state
            self.logger.log_initial_agents(s.ids, s.agent_types, s.parent_ids, s.generation)
        self.step_index = 0
        self.stage_seconds = {stage.value: 0.0 for stage in Stage}
        self._observations = self._mask = self._actions = None
        self._targets: dict[str, np.ndarray] = {}
        self._outcome: dict[str, np.ndarray] | None = None
        self._last_log: StepLog | None = None

    # ------------------------------------------------------------------ stages

    def observe(self) -> tuple[np.ndarray, np.ndarray]:
        """Build every live agent's view and action mask, and pick each agent's action targets.

        Returns ``(observations (n, C, S, S) float32, action_mask (n, NUM_ACTIONS) bool)``.
        """
        cfg = self.config.agents
        state = self.state
        positions = state.positions
        n = len(state)

        social_radius = max(cfg.share_range, cfg.attack_range)
        near_agents = NeighborPairs(
            positions, positions, self.agent_index.query_radius(positions, _query_radius(social_radius))
        )
        rows, others, d2 = near_agents.rows, near_agents.indices, near_agents.d2
        types = state.agent_types.astype(np.intp)
        ally = _ALLY_FLAT.take(types.take(rows) * len(AgentType) + types.take(others))
        not_self = others != rows
        enemy = not_self & ~ally
        ally &= not_self
        ally &= d2 <= cfg.share_range * cfg.share_range
        enemy &= d2 <= cfg.attack_range * cfg.attack_range
        ally_target = near_agents.nearest(ally)
        enemy_target = near_agents.nearest(enemy)

        resource_radius = max(cfg.perception_radius, cfg.gather_range)
        node_positions = self.resources.positions
        near_nodes = NeighborPairs(
            positions, node_positions, self.resource_index.query_radius(positions, _query_radius(resource_radius))
        )
        nonempty = self.resources.amounts.take(near_nodes.indices) > 0
        move_target = near_nodes.nearest(nonempty & (near_nodes.d2 <= cfg.perception_radius * cfg.perception_radius))
        gather_reach = cfg.gather_range * cfg.gather_range
        if cfg.gather_range <= cfg.perception_radius:
            # The nearest non-empty node within perception is also the nearest within reach,
            # if it is within reach at all.
            seeking = np.flatnonzero(move_target >= 0)
            delta = node_positions[move_target[seeking]] - positions[seeking]
            gather_target = np.full(n, -1, dtype=np.int64)
            in_reach = delta[:, 0] * delta[:, 0] + delta[:, 1] * delta[:, 1] <= gather_reach
            gather_target[seeking[in_reach]] = move_target[seeking[in_reach]]
        else:
            gather_target = near_nodes.nearest(nonempty & (near_nodes.d2 <= gather_reach))

        mask = np.zeros((n, NUM_ACTIONS), dtype=np.bool_)
        mask[:, [Action.MOVE, Action.DEFEND, Action.PASS]] = True
        mask[:, Action.GATHER] = gather_target >= 0
        mask[:, Action.SHARE] = (ally_target >= 0) & (state.resources > 0)
        mask[:, Action.ATTACK] = enemy_target >= 0
        mask[:, Action.REPRODUCE] = (state.resources >= cfg.reproduce_threshold) & (n < cfg.population_cap)

        self._targets = {"ally": ally_target, "enemy": enemy_target, "move": move_target, "gather": gather_target}
        self._observations = self.observation_builder.build()
        self._mask = mask
        return self._observations, mask

    def decide(self) -> np.ndarray:
        """Ask each type's policy for its live agents' actions: ``(n,) int64``."""
        state = self.state
        actions = np.full(len(state), Action.PASS, dtype=np.int64)
        for agent_type, policy in self.policies.items():
            rows = np.flatnonzero(state.agent_types == agent_type)
            if rows.size:
                if getattr(policy, "reads_observations", True):
                    observations = self._observations[rows]
                else:  # no copy for a policy that decides from the mask alone
                    observations = np.broadcast_to(np.zeros((1,) + self._observations.shape[1:], np.float32),
                                                   (rows.size,) + self._observations.shape[1:])
                if hasattr(policy, "act_agents"):  # AgentAwarePolicy, e.g. one network per agent
                    actions[rows] = policy.act_agents(state.ids[rows], observations, self._mask[rows])
                else:
                    actions[rows] = policy.act(observations, self._mask[rows])
        if actions.size and not self._mask[np.arange(actions.size), actions].all():
            bad = np.flatnonzero(~self._mask[np.arange(actions.size), actions])[0]
            raise RuntimeError(
                f"policy chose masked action {Action(actions[bad]).name} for agent {state.ids[bad]}"
            )
        self._actions = actions
        return actions

    def act(self) -> dict[str, np.ndarray]:
        """Resolve every agent's action simultaneously, then consumption, deaths and births."""
        cfg = self.config.agents
        state = self.state
        actions = self._actions
        n = len(state)
        resources_before = state.resources.copy()
        health_before = state.health.copy()
        success = np.zeros(n, dtype=np.bool_)
        targets = np.full(n, -1, dtype=np.int64)
        interactions: list[tuple[np.ndarray, np.ndarray, InteractionKind, np.ndarray]] = []

        # MOVE
        movers = np.flatnonzero(actions == Action.MOVE)
        if movers.size:
            start = state.positions[movers]
            node = self._targets["move"][movers]
            heading = np.empty_like(start)
            seeking = node >= 0
            delta = self.resources.positions[node[seeking]] - start[seeking]
            distance = np.hypot(delta[:, 0], delta[:, 1])
            stride = np.minimum(cfg.move_speed, distance)
            with np.errstate(invalid="ignore", divide="ignore"):
                heading[seeking] = np.where(distance[:, None] > 0, delta * (stride / distance)[:, None], 0.0)
            angle = self.rng_move.random(int((~seeking).sum())) * (2.0 * np.pi)
            heading[~seeking] = cfg.move_speed * np.column_stack((np.cos(angle), np.sin(angle)))
            end = np.clip(start + heading, 0.0, self.bounds)
            state.positions[movers] = end
            success[movers] = np.any(end != start, axis=1)

        # GATHER
        gatherers = np.flatnonzero(actions == Action.GATHER)
        if gatherers.size:
            nodes = self._targets["gather"][gatherers]
            granted = self.resources.consume(nodes, np.full(gatherers.size, cfg.gather_amount))
            state.resources[gatherers] += granted
            success[gatherers] = granted > 0
            targets[gatherers] = nodes
            interactions.append((state.ids[gatherers], nodes, InteractionKind.GATHER, granted))

        # SHARE
        givers = np.flatnonzero(actions == Action.SHARE)
        if givers.size:
            receivers = self._targets["ally"][givers]
            gift = np.minimum(cfg.share_amount, resources_before[givers])
            state.resources[givers] -= gift
            state.resources += np.bincount(receivers, weights=gift, minlength=n)
            success[givers] = gift > 0
            targets[givers] = state.ids[receivers]
            interactions.append((state.ids[givers], state.ids[receivers], InteractionKind.SHARE, gift))

        # DEFEND and ATTACK
        defending = actions == Action.DEFEND
        success[defending] = True
        attackers = np.flatnonzero(actions == Action.ATTACK)
        if attackers.size:
            victims = self._targets["enemy"][attackers]
            damage = cfg.attack_damage * np.where(defending[victims], cfg.defend_factor, 1.0)
            state.health -= np.bincount(victims, weights=damage, minlength=n)
            np.maximum(state.health, 0.0, out=state.health)
            success[attackers] = True
            targets[attackers] = state.ids[victims]
            interactions.append((state.ids[attackers], state.ids[victims], InteractionKind.ATTACK, damage))

        # REPRODUCE (lowest ids first when the cap binds; rows are in id order)
        parents = np.flatnonzero(actions == Action.REPRODUCE)[: max(cfg.population_cap - n, 0)]
        if parents.size:
            state.resources[parents] -= cfg.reproduce_cost
            success[parents] = True
        offset = self.rng_agents.uniform(-cfg.birth_radius, cfg.birth_radius, size=(parents.size, 2))
        child_positions = np.clip(state.positions[parents] + offset, 0.0, self.bounds)

        # Consumption, starvation, death
        state.resources -= cfg.consumption
        starving = state.resources <= 0.0
        np.maximum(state.resources, 0.0, out=state.resources)
        state.starvation = np.where(starving, state.starvation + 1, 0).astype(np.int32)
        state.age += 1
        died = (state.health <= 0.0) | (state.starvation > cfg.starvation_threshold)
        state.alive &= ~died

        rewards = (
            (state.resources - resources_before)
            + cfg.health_reward_weight * (state.health - health_before)
            + np.where(died, -cfg.death_penalty, cfg.survival_bonus)
        )

        training_metrics = {}
        for agent_type, policy in self.policies.items():
            if not hasattr(policy, "record"):
                continue
            rows = np.flatnonzero(state.agent_types == agent_type)
            if rows.size:
                metrics = policy.record(state.ids[rows], self._observations[rows], self._mask[rows],
                                        actions[rows], rewards[rows], died[rows])
                if metrics:
                    training_metrics[agent_type.name.lower()] = metrics

        # Snapshot of the acting agents for the log, then end-of-step bookkeeping.
        acted = {
            "agent_ids": state.ids, "agent_types": state.agent_types, "positions": state.positions.copy(),
            "resources": state.resources.copy(), "health": state.health.copy(),
            "starvation": state.starvation, "rewards": rewards, "actions": actions.astype(np.int8),
            "action_success": success, "died": died,
        }
        parent_ids = state.ids[parents]
        parent_types = state.agent_types[parents]
        parent_generations = state.generation[parents]
        died_ids = state.compact()
        born_ids = state.append(
            positions=child_positions,
            agent_types=parent_types,
            resources=np.full(parents.size, cfg.offspring_resources),
            health=np.full(parents.size, cfg.max_health),
            generation=parent_generations + 1,
            parent_ids=parent_ids,
        ) if parents.size else _EMPTY_I64
        targets[parents] = born_ids
        if parents.size:
            interactions.append((parent_ids, born_ids, InteractionKind.REPRODUCE, np.full(parents.size, cfg.reproduce_cost)))
        acted["action_targets"] = targets

        self._population_changed = bool(died_ids.size or born_ids.size)
        self._moved_rows = movers
        self._outcome = {
            **acted,
            "died_ids": died_ids,
            "born_ids": born_ids,
            "born_types": parent_types,
            "born_parent_ids": parent_ids,
            "born_generations": parent_generations + 1,
            "interactions": interactions,
            "training_metrics": training_metrics,
        }
        return self._outcome

    def regenerate_resources(self) -> None:
        """One regeneration step of every resource node."""
        self.resources.regenerate()

    def update_spatial_index(self) -> None:
        """Bring the agent index up to date: moved rows only, or a rebuild after births/deaths."""
        if self._population_changed:
            self.agent_index.build(self.state.positions)
        elif self._moved_rows.size:
            self.agent_index.update(self._moved_rows, self.state.positions[self._moved_rows])

    def log_step(self, step_duration: float = 0.0) -> StepLog:
        """Assemble this step's :class:`StepLog` and hand it to the logger (if any)."""
        out = self._outcome
        interactions = out["interactions"]
        if interactions:
            sources = np.concatenate([i[0] for i in interactions]).astype(np.int64)
            targets = np.concatenate([i[1] for i in interactions]).astype(np.int64)
            kinds = np.concatenate([np.full(len(i[0]), i[2], dtype=np.int8) for i in interactions])
            amounts = np.concatenate([i[3] for i in interactions]).astype(np.float64)
        else:
            sources = targets = _EMPTY_I64
            kinds, amounts = np.zeros(0, dtype=np.int8), np.zeros(0, dtype=np.float64)
        interval = self.config.storage.resource_interval
        amounts_now = self.resources.amounts
        log = StepLog(
            step=self.step_index,
            agent_ids=out["agent_ids"], agent_types=out["agent_types"], positions=out["positions"],
            resources=out["resources"], health=out["health"], starvation=out["starvation"],
            rewards=out["rewards"], actions=out["actions"], action_targets=out["action_targets"],
            action_success=out["action_success"],
            born_ids=out["born_ids"], born_types=out["born_types"], born_parent_ids=out["born_parent_ids"],
            born_generations=out["born_generations"].astype(np.int32), died_ids=out["died_ids"],
            interaction_sources=sources, interaction_targets=targets, interaction_kinds=kinds,
            interaction_amounts=amounts,
            resource_amounts=amounts_now.copy() if self.step_index % interval == 0 else None,
            population_by_type=self.state.population_by_type(),
            total_resources=float(self.state.resources.sum() + amounts_now.sum()),
            step_duration=step_duration,
            training_metrics=out["training_metrics"],
        )
        if self.logger is not None:
            self.logger.log_step(log)
        self.observation_builder.end_step(log)  # feeds the persistent observation channels
        self._last_log = log
        return log

    # ------------------------------------------------------------------ driving

    def step(self) -> StepLog:
        """Run the six stages once; returns the step's :class:`StepLog`."""
        if self.closed:
            raise RuntimeError("simulation is closed")
        seconds = self.stage_seconds
        clock = time.perf_counter
        t0 = clock()
        self.observe()
        t1 = clock()
        self.decide()
        t2 = clock()
        self.act()
        t3 = clock()
        self.regenerate_resources()
        t4 = clock()
        self.update_spatial_index()
        t5 = clock()
        log = self.log_step(step_duration=t5 - t0)
        t6 = clock()
        seconds["observe"] += t1 - t0
        seconds["decide"] += t2 - t1
        seconds["act"] += t3 - t2
        seconds["regenerate_resources"] += t4 - t3
        seconds["update_spatial_index"] += t5 - t4
        seconds["log_step"] += t6 - t5
        self.step_index += 1
        return log

    def run(self, num_steps: int, progress=None) -> RunSummary:
        """Run ``num_steps`` steps; ``progress(done, total)`` is called after each step."""
        if not isinstance(num_steps, int) or isinstance(num_steps, bool) or num_steps < 0:
            raise ValueError(f"num_steps must be a non-negative integer, got {num_steps!r}")
        start = time.perf_counter()
        for done in range(1, num_steps + 1):
            self.step()
            if progress is not None:
                progress(done, num_steps)
        return self.summary(num_steps, time.perf_counter() - start)

    def summary(self, steps: int, seconds: float) -> RunSummary:
        population = self.state.population_by_type()
        return RunSummary(
            steps=steps,
            seconds=seconds,
            population_by_type={t.name.lower(): int(population[t]) for t in AgentType},
            db_path=self.config.storage.db_path,
            run_id=self.logger.run_id if self.logger is not None else None,
        )

    def close(self, status: str = "completed") -> None:
        """Flush and close the log (marking the run ``status``) and release resources. Idempotent."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.logger is not None:
                self.logger.close(status)
        finally:
            closer = getattr(getattr(self, "observation_builder", None), "close", None)
            if closer is not None:
                closer()
            if self.resources is not None:
                self.resources.close()

    def __enter__(self) -> "Simulation":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.close("completed")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close("interrupted")
        else:
            self.close("failed")
        return False


def run_simulation(config: SimulationConfig, num_steps: int, progress=None) -> RunSummary:
    """Build a :class:`Simulation`, run it for ``num_steps`` and close it."""
    with Simulation(config) as sim:
        return sim.run(num_steps, progress)
