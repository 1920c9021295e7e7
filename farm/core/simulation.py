"""The step loop, one method per stage.

observe -> decide -> act -> learn -> regenerate resources -> update index -> log -> update
observation channels. Every stage is a method, so benchmarks and profilers can call and time each one alone, in loop
order; :meth:`Simulation.step` runs them all and adds each one's wall time to
:attr:`Simulation.stage_seconds`. The rules the act stage applies are written, one function per
rule, in :mod:`farm.core.rules`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import Enum

import numpy as np

from farm.config import SimulationConfig
from farm.core import rules
from farm.core.actions import NUM_ACTIONS, Action
from farm.core.outcomes import ActionTargets, ActOutcome, Interactions, LearnOutcome
from farm.core.records import InteractionKind, StepLog
from farm.core.state import ALLY_MATRIX, NUM_AGENT_TYPES, AgentState, AgentType
from farm.core.targets import NeighborPairs
from farm.decision import make_policy
from farm.decision.base import AgentAwarePolicy, LearningPolicy
from farm.decision.config import DecisionConfig
from farm.decision.frames import wait_for_copies
from farm.observation import make_observation_builder
from farm.preflight import check_checkpoint_dir, check_memory
from farm.resources.manager import ResourceManager
from farm.spatial import make_index
from farm.storage import make_logger
from farm.storage.status import RunStatus
from farm.utils.validation import coerce_enum

__all__ = ["Stage", "Simulation", "RunSummary", "run_simulation"]

_EMPTY_I64 = np.zeros(0, dtype=np.int64)
# ALLY_MATRIX flattened, read with ``take`` at ``observer_type * NUM_AGENT_TYPES + other_type``.
_ALLY_FLAT = ALLY_MATRIX.ravel()


class Stage(Enum):
    """The loop's stages, in order; values are the method names.

    The values are also the keys of :attr:`Simulation.stage_seconds`.
    OBSERVE builds views, masks and action targets; DECIDE asks the policies; ACT applies the
    rules (no learning); LEARN hands transitions to learning policies and trains; REGENERATE
    grows the resource nodes; UPDATE_INDEX moves agents in the spatial index; LOG assembles the
    :class:`StepLog` and writes it (if logging); UPDATE_CHANNELS feeds the persistent observation
    channels (memories of attacks, trails) with the step's log.
    """

    OBSERVE = "observe"
    DECIDE = "decide"
    ACT = "act"
    LEARN = "learn"
    REGENERATE = "regenerate_resources"
    UPDATE_INDEX = "update_spatial_index"
    LOG = "log_step"
    UPDATE_CHANNELS = "update_observation_channels"


@dataclass(frozen=True)
class RunSummary:
    """What :meth:`Simulation.run` reports.

    Attributes:
        steps: steps run.
        seconds: wall seconds they took.
        population_by_type: agent-type name -> live agents at the end.
        db_path: the log's database path, or None when not logging.
        run_id: the run's id in the log, or None when not logging.
    """

    steps: int
    seconds: float
    population_by_type: dict[str, int]
    db_path: str | None
    run_id: int | None

    @property
    def steps_per_second(self) -> float:
        """Steps per wall second of the run (inf for a run that took no measurable time)."""
        return self.steps / self.seconds if self.seconds > 0 else float("inf")


def _refuse_nan_metrics(type_name: str, decision: DecisionConfig, step: int, metrics: dict[str, float]) -> None:
    """Raise ``ValueError`` in one line if a training metric of ``type_name``'s policy is NaN.

    A NaN loss means the policy's training diverged (its parameters go NaN with it), and the
    log cannot hold NaN (sqlite stores it as NULL): the run ends here, with every step before
    this one logged, whether or not it logs.
    """
    for name, value in metrics.items():
        if math.isnan(value):
            kind = decision.policy_for(type_name).value
            raise ValueError(
                f"the {type_name} {kind} policy's training diverged at step {step}: its {name} is nan "
                f"(lower decision.{kind}.learning_rate or decision.{kind}.max_grad_norm)"
            )


def _query_radius(radius: float) -> float:
    """Radius handed to an index: a hair larger than the rule's.

    Every index then returns a superset of the true neighbours; the engine applies the exact
    ``<=`` test itself.
    """
    return radius * (1.0 + 1e-9) + 1e-12


class Simulation:
    """One seeded simulation run. Use as a context manager, or call :meth:`close`.

    Args:
        config: the whole configuration; its seed fixes every random stream, so two runs of one
            config are identical bit for bit.

    Attributes:
        state: the live agents (:class:`~farm.core.state.AgentState`).
        resources: the resource nodes (:class:`~farm.resources.manager.ResourceManager`).
        agent_index, resource_index: spatial indexes over agent and node positions.
        policies: :class:`AgentType` -> policy.
        step_index: steps logged so far: the number :meth:`log_step` gives the step it logs, then
            advances (after :meth:`step`, the steps completed).
        stage_seconds: :class:`Stage` value -> wall seconds spent in that stage by :meth:`step`.

    Raises:
        TypeError: ``config`` is not a :class:`SimulationConfig`.
    """

    def __init__(self, config: SimulationConfig) -> None:
        """Build the world, agents, indexes, observation builder, policies and (if configured) the log."""
        if not isinstance(config, SimulationConfig):
            raise TypeError(f"config must be a SimulationConfig, got {type(config).__name__}")
        check_memory(config)  # refuse, in one line, a world that cannot fit before allocating it
        check_checkpoint_dir(config)  # and checkpoints that cannot be written (make_logger checks the log)
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
        except KeyboardInterrupt:
            self.close(RunStatus.INTERRUPTED)
            raise
        except BaseException:
            self.close(RunStatus.FAILED)
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
        # Decided once: which protocol each policy follows (they are runtime-checkable).
        self._agent_aware = {t: isinstance(p, AgentAwarePolicy) for t, p in self.policies.items()}
        self._learning_policies = {t: p for t, p in self.policies.items() if isinstance(p, LearningPolicy)}
        self.step_index = 0
        self.stage_seconds = {stage.value: 0.0 for stage in Stage}
        self._mask = self._actions = None
        # observe() builds the observations grouped by agent type, so that each type's rows are
        # one contiguous slice that decide() and learn() hand to the policy without a copy:
        # _grouped (n, C, S, S) holds state row _order[i] at row i, and _spans maps each type to
        # (its rows in row order, its slice of _grouped). _observations: row order, on demand.
        self._grouped: np.ndarray | None = None
        self._order: np.ndarray | None = None
        self._spans: dict[AgentType, tuple[np.ndarray, slice]] = {}
        self._observations: np.ndarray | None = None
        self._observed_ids: np.ndarray | None = None  # state.ids when observe() ran
        self._targets = ActionTargets.none(n)
        self._outcome: ActOutcome | None = None
        self._learned = LearnOutcome()
        self._last_log: StepLog | None = None

    # ------------------------------------------------------------------ stages

    def observe(self, *, row_order: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
        """Build every live agent's view and action mask, and pick each agent's action targets.

        Args:
            row_order: put the observations together in state row order for the caller
                (:attr:`observations`). The loop passes False: decide and learn read them grouped
                by agent type, and the row-order array would cost a copy when the rows are not
                already grouped.

        Returns:
            ``(observations (n, C, S, S) float32 in state row order, or None when not
            row_order; action_mask (n, NUM_ACTIONS) bool)``.
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
        ally = _ALLY_FLAT.take(types.take(rows) * NUM_AGENT_TYPES + types.take(others))
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

        self._targets = ActionTargets(move=move_target, gather=gather_target, ally=ally_target, enemy=enemy_target)
        # Rows grouped by type (stable: row order within a type), one gather in that order.
        order = np.argsort(state.agent_types, kind="stable")
        ends = np.cumsum(np.bincount(state.agent_types, minlength=NUM_AGENT_TYPES)).tolist()
        starts = [0] + ends[:-1]
        self._spans = {t: (order[starts[t] : ends[t]], slice(starts[t], ends[t])) for t in AgentType}
        self._order = order
        self._observed_ids = state.ids
        self._grouped = self.observation_builder.build_rows(order)
        self._observations = None
        self._mask = mask
        return (self.observations if row_order else None), mask

    @property
    def observations(self) -> np.ndarray | None:
        """The last :meth:`observe`'s observations in state row order, ``(n, C, S, S) float32``.

        The loop itself reads them grouped by agent type; this row-order array is put together
        on first access (a copy when the rows are not already grouped by type). None before the
        first observe.
        """
        if self._observations is None and self._grouped is not None:
            order = self._order
            if np.array_equal(order, np.arange(order.shape[0])):
                self._observations = self._grouped
            else:
                self._observations = np.empty_like(self._grouped)
                self._observations[order] = self._grouped
        return self._observations

    def decide(self) -> np.ndarray:
        """Ask each type's policy for its live agents' actions: ``(n,) int64``."""
        state = self.state
        actions = np.full(len(state), Action.PASS, dtype=np.int64)
        for agent_type, policy in self.policies.items():
            rows, span = self._spans[agent_type]
            if rows.size:
                if getattr(policy, "reads_observations", True):
                    observations = self._grouped[span]  # contiguous: no copy
                else:  # a policy that decides from the mask alone reads zeros
                    observations = np.broadcast_to(np.zeros((1,) + self._grouped.shape[1:], np.float32),
                                                   (rows.size,) + self._grouped.shape[1:])
                if self._agent_aware[agent_type]:  # e.g. one network per agent
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

    def act(self) -> ActOutcome:
        """Resolve every agent's action simultaneously, then consumption, deaths and births.

        Composes the rules of :mod:`farm.core.rules` in order and applies what they return to
        :attr:`state` and the resource nodes; then drops the dead rows and appends the newborns.

        Returns:
            The step's :class:`~farm.core.outcomes.ActOutcome` (also kept for ``learn`` and
            ``log_step``).
        """
        cfg = self.config.agents
        state = self.state
        actions = self._actions
        targets = self._targets
        n = len(state)
        resources_before = state.resources.copy()
        health_before = state.health.copy()
        success = np.zeros(n, dtype=np.bool_)
        action_targets = np.full(n, -1, dtype=np.int64)
        interactions: list[tuple[np.ndarray, np.ndarray, InteractionKind, np.ndarray]] = []

        movers = np.flatnonzero(actions == Action.MOVE)
        if movers.size:
            wanderers = int((targets.move[movers] < 0).sum())
            angles = self.rng_move.random(wanderers) * (2.0 * np.pi)
            moved = rules.move(state.positions, movers, targets.move, self.resources.positions, angles,
                               cfg.move_speed, self.bounds)
            state.positions[movers] = moved.positions
            success[movers] = moved.success

        gatherers = np.flatnonzero(actions == Action.GATHER)
        if gatherers.size:
            gathered = rules.gather(gatherers, targets.gather, self.resources.amounts, cfg.gather_amount)
            self.resources.withdraw(gathered.drawn_nodes, gathered.taken)
            state.resources[gatherers] += gathered.granted
            success[gatherers] = gathered.granted > 0
            action_targets[gatherers] = gathered.nodes
            interactions.append((state.ids[gatherers], gathered.nodes, InteractionKind.GATHER, gathered.granted))

        givers = np.flatnonzero(actions == Action.SHARE)
        if givers.size:
            shared = rules.share(givers, targets.ally, resources_before, cfg.share_amount)
            state.resources[givers] -= shared.gifts
            state.resources += shared.received
            success[givers] = shared.gifts > 0
            action_targets[givers] = state.ids[shared.receivers]
            interactions.append((state.ids[givers], state.ids[shared.receivers], InteractionKind.SHARE, shared.gifts))

        defending = rules.defend(actions)
        success[defending] = True
        attackers = np.flatnonzero(actions == Action.ATTACK)
        if attackers.size:
            hits = rules.attack(attackers, targets.enemy, defending, cfg.attack_damage, cfg.defend_factor)
            state.health -= hits.damage_taken
            np.maximum(state.health, 0.0, out=state.health)
            success[attackers] = True
            action_targets[attackers] = state.ids[hits.victims]
            interactions.append((state.ids[attackers], state.ids[hits.victims], InteractionKind.ATTACK, hits.damage))

        parents = rules.reproduce(actions, cfg.population_cap)
        if parents.size:
            state.resources[parents] -= cfg.reproduce_cost
            success[parents] = True
        offsets = self.rng_agents.uniform(-cfg.birth_radius, cfg.birth_radius, size=(parents.size, 2))
        child_positions = rules.place_offspring(state.positions[parents], offsets, self.bounds)

        upkeep = rules.death(state.resources, state.health, state.starvation, cfg.consumption,
                             cfg.starvation_threshold)
        state.resources = upkeep.resources
        state.starvation = upkeep.starvation
        state.age += 1
        state.alive &= ~upkeep.died
        rewards = rules.reward(resources_before, state.resources, health_before, state.health, upkeep.died,
                               cfg.health_reward_weight, cfg.death_penalty, cfg.survival_bonus)

        # Snapshot of the acting agents, then end-of-step bookkeeping.
        agent_ids, agent_types = state.ids, state.agent_types
        positions, resources, health = state.positions.copy(), state.resources.copy(), state.health.copy()
        starvation = state.starvation
        parent_ids = state.ids[parents]
        parent_types = state.agent_types[parents]
        child_generations = state.generation[parents] + 1
        died_ids = state.compact()
        born_ids = state.append(
            positions=child_positions,
            agent_types=parent_types,
            resources=np.full(parents.size, cfg.offspring_resources),
            health=np.full(parents.size, cfg.max_health),
            generation=child_generations,
            parent_ids=parent_ids,
        ) if parents.size else _EMPTY_I64
        action_targets[parents] = born_ids
        if parents.size:
            interactions.append((parent_ids, born_ids, InteractionKind.REPRODUCE,
                                 np.full(parents.size, cfg.reproduce_cost)))

        self._outcome = ActOutcome(
            agent_ids=agent_ids, agent_types=agent_types, positions=positions, resources=resources,
            health=health, starvation=starvation, actions=actions, action_targets=action_targets,
            action_success=success, rewards=rewards, died=upkeep.died, died_ids=died_ids,
            born_ids=born_ids, born_types=parent_types, born_parent_ids=parent_ids,
            born_generations=child_generations.astype(np.int32),
            interactions=Interactions.concatenate(interactions), moved_rows=movers,
            population_changed=bool(died_ids.size or born_ids.size),
        )
        self._learned = LearnOutcome()
        return self._outcome

    def learn(self) -> LearnOutcome:
        """Hand each learning policy its agents' transitions of this step; ``record`` may train.

        Reads the act stage's snapshot (ids, types, actions, rewards, deaths, taken before dead
        rows were dropped) and the observations and mask ``observe`` built, so it runs after
        ``act`` and before the next ``observe``. A learner may copy the observations into its
        replay memory on a worker thread (:mod:`farm.decision.frames`): leave them unchanged
        until :meth:`step` returns or :func:`farm.decision.frames.wait_for_copies` does.

        Returns:
            :class:`~farm.core.outcomes.LearnOutcome` with the training metrics of the policies
            that trained (also put in this step's :class:`StepLog`).
        """
        out = self._outcome
        training_metrics = {}
        # The agents that acted are the ones observe() grouped (the loop's order): each type's
        # rows and observations are observe's, found without searching.
        observed = self._observed_ids is not None and (
            out.agent_ids is self._observed_ids or np.array_equal(out.agent_ids, self._observed_ids)
        )
        for agent_type, policy in self._learning_policies.items():
            if observed:
                rows, span = self._spans[agent_type]
                observations = self._grouped[span]
            else:  # stages called out of order
                rows = np.flatnonzero(out.agent_types == agent_type)
                observations = self.observations[rows]
            if rows.size:
                metrics = policy.record(out.agent_ids[rows], observations, self._mask[rows],
                                        out.actions[rows], out.rewards[rows], out.died[rows])
                if metrics:
                    type_name = agent_type.name.lower()
                    _refuse_nan_metrics(type_name, self.config.decision, self.step_index, metrics)
                    training_metrics[type_name] = metrics
        self._learned = LearnOutcome(training_metrics)
        return self._learned

    def regenerate_resources(self) -> None:
        """One regeneration step of every resource node."""
        self.resources.regenerate()

    def update_spatial_index(self) -> None:
        """Bring the agent index up to date: moved rows only, or a rebuild after births/deaths."""
        out = self._outcome
        if out is None:  # no act yet: nothing moved
            return
        if out.population_changed:
            self.agent_index.build(self.state.positions)
        elif out.moved_rows.size:
            self.agent_index.update(out.moved_rows, self.state.positions[out.moved_rows])

    def log_step(self, step_duration: float = 0.0) -> StepLog:
        """Assemble this step's :class:`StepLog` and hand it to the logger (if any).

        Args:
            step_duration: wall seconds of the step so far, recorded in the log.

        The step's number is :attr:`step_index`, which this stage advances: stages called one by
        one number their steps as :meth:`step` does, so their log holds each step once.

        Returns:
            The step's :class:`StepLog` (also kept for :meth:`update_observation_channels`).
        """
        out = self._outcome
        interval = self.config.storage.resource_interval
        amounts_now = self.resources.amounts
        log = StepLog(
            step=self.step_index,
            agent_ids=out.agent_ids, agent_types=out.agent_types, positions=out.positions,
            resources=out.resources, health=out.health, starvation=out.starvation,
            rewards=out.rewards, actions=out.actions.astype(np.int8), action_targets=out.action_targets,
            action_success=out.action_success,
            born_ids=out.born_ids, born_types=out.born_types, born_parent_ids=out.born_parent_ids,
            born_generations=out.born_generations, died_ids=out.died_ids,
            interaction_sources=out.interactions.sources, interaction_targets=out.interactions.targets,
            interaction_kinds=out.interactions.kinds, interaction_amounts=out.interactions.amounts,
            resource_amounts=amounts_now.copy() if self.step_index % interval == 0 else None,
            population_by_type=self.state.population_by_type(),
            total_resources=float(self.state.resources.sum() + amounts_now.sum()),
            step_duration=step_duration,
            training_metrics=self._learned.training_metrics,
        )
        self.step_index += 1
        if self.logger is not None:
            self.logger.log_step(log)
        self._last_log = log
        return log

    def update_observation_channels(self) -> None:
        """Feed this step's :class:`StepLog` to the persistent observation channels.

        Those channels remember beyond one step (e.g. where attacks happened); call after
        :meth:`log_step`.
        """
        self.observation_builder.end_step(self._last_log)

    # ------------------------------------------------------------------ driving

    def step(self) -> StepLog:
        """Run every :class:`Stage` once, in order, timing each into :attr:`stage_seconds`.

        The step returns with its stored frames in place: a wait for the learn stage's frame
        copies on the worker thread counts as the learn stage's time.

        Returns:
            The step's :class:`StepLog`.

        Raises:
            RuntimeError: the simulation is closed.
        """
        if self.closed:
            raise RuntimeError("simulation is closed")
        seconds = self.stage_seconds
        clock = time.perf_counter
        t0 = clock()
        self.observe(row_order=False)
        t1 = clock()
        self.decide()
        t2 = clock()
        self.act()
        t3 = clock()
        self.learn()
        t4 = clock()
        self.regenerate_resources()
        t5 = clock()
        self.update_spatial_index()
        t6 = clock()
        log = self.log_step(step_duration=t6 - t0)
        t7 = clock()
        self.update_observation_channels()
        t8 = clock()
        # The learn stage's large frame copies ran on the worker thread beside the stages after
        # it; the step ends with them in place, and any wait for them counts as learning.
        wait_for_copies()
        t9 = clock()
        seconds["observe"] += t1 - t0
        seconds["decide"] += t2 - t1
        seconds["act"] += t3 - t2
        seconds["learn"] += (t4 - t3) + (t9 - t8)
        seconds["regenerate_resources"] += t5 - t4
        seconds["update_spatial_index"] += t6 - t5
        seconds["log_step"] += t7 - t6
        seconds["update_observation_channels"] += t8 - t7
        return log

    def run(self, num_steps: int, progress=None) -> RunSummary:
        """Run ``num_steps`` steps.

        Args:
            num_steps: non-negative number of steps.
            progress: optional ``progress(done, total)`` called after each step.

        Returns:
            The run's :class:`RunSummary`.

        Raises:
            ValueError: ``num_steps`` is not a non-negative integer.
        """
        if not isinstance(num_steps, int) or isinstance(num_steps, bool) or num_steps < 0:
            raise ValueError(f"num_steps must be a non-negative integer, got {num_steps!r}")
        start = time.perf_counter()
        for done in range(1, num_steps + 1):
            self.step()
            if progress is not None:
                progress(done, num_steps)
        return self.summary(num_steps, time.perf_counter() - start)

    def summary(self, steps: int, seconds: float) -> RunSummary:
        """Summarize a run of this simulation as it stands now.

        Args:
            steps: steps the run took.
            seconds: wall seconds it took.

        Returns:
            A :class:`RunSummary` with the current population by type and the log's path and id.
        """
        population = self.state.population_by_type()
        return RunSummary(
            steps=steps,
            seconds=seconds,
            population_by_type={t.name.lower(): int(population[t]) for t in AgentType},
            db_path=self.config.storage.db_path,
            run_id=self.logger.run_id if self.logger is not None else None,
        )

    def close(self, status: RunStatus | str = RunStatus.COMPLETED) -> None:
        """Flush and close the log (marking the run ``status``) and release resources. Idempotent.

        Args:
            status: how the run ended: COMPLETED, FAILED or INTERRUPTED (or that enum's string
                value, accepted for compatibility).

        Raises:
            ValueError: ``status`` is not a :class:`RunStatus` a run can end with.
        """
        status = coerce_enum("simulation", "status", RunStatus, status)
        if status is RunStatus.RUNNING:
            raise ValueError("simulation.status must be completed, failed or interrupted; got 'running'")
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
        """Return the simulation itself."""
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        """Close the run as COMPLETED, INTERRUPTED (KeyboardInterrupt) or FAILED.

        Returns:
            False: an exception is never swallowed.
        """
        if exc_type is None:
            self.close(RunStatus.COMPLETED)
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close(RunStatus.INTERRUPTED)
        else:
            self.close(RunStatus.FAILED)
        return False


def run_simulation(config: SimulationConfig, num_steps: int, progress=None) -> RunSummary:
    """Build a :class:`Simulation`, run it for ``num_steps`` and close it.

    Args:
        config: the run's configuration.
        num_steps: non-negative number of steps.
        progress: optional ``progress(done, total)`` called after each step.

    Returns:
        The run's :class:`RunSummary`.
    """
    with Simulation(config) as sim:
        return sim.run(num_steps, progress)
