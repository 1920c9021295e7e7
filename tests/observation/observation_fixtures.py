"""Builders of agent states, duck-typed resource managers and step logs for observation tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from farm.config import WorldConfig
from farm.core.records import StepLog
from farm.core.state import AgentState
from farm.observation import ObservationConfig, make_observation_builder

__all__ = ["FakeResources", "make_state", "make_resources", "random_world", "make_builder", "make_step_log"]


@dataclass
class FakeResources:
    """The resource-manager surface the builder reads."""

    positions: np.ndarray
    amounts: np.ndarray
    max_amount: float = 30.0


def make_state(positions, types=None, health=None) -> AgentState:
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    n = len(positions)
    state = AgentState()
    state.append(
        positions=positions,
        agent_types=np.arange(n) % 3 if types is None else np.asarray(types),
        resources=np.full(n, 5.0),
        health=np.linspace(20.0, 100.0, n) if health is None else np.asarray(health, dtype=np.float64),
        generation=np.zeros(n),
        parent_ids=np.full(n, -1),
    )
    return state


def make_resources(positions, amounts=None, max_amount=30.0) -> FakeResources:
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    if amounts is None:
        amounts = np.linspace(1.0, max_amount, len(positions))
    return FakeResources(positions.copy(), np.asarray(amounts, dtype=np.float64).copy(), max_amount)


def random_world(n_agents: int, n_nodes: int, width: float, height: float, seed: int):
    """Random agents (some stacked on one spot and at the four corners) and nodes (some
    overlapping, some on the world's edges)."""
    rng = np.random.default_rng(seed)
    agents = rng.random((n_agents, 2)) * [width, height]
    corners = np.array([[0.0, 0.0], [width, 0.0], [0.0, height], [width, height]])
    agents[:4] = corners[: min(4, n_agents)]
    if n_agents > 6:
        agents[4:7] = agents[7 % n_agents]  # three agents on one spot
    nodes = rng.random((n_nodes, 2)) * [width, height]
    if n_nodes > 8:
        nodes[:4] = corners
        nodes[4:6] = nodes[6]  # overlapping nodes
        nodes[7] = [width / 2, 0.0]
    health = rng.uniform(1.0, 100.0, n_agents)
    types = rng.integers(0, 3, n_agents)
    amounts = rng.uniform(0.0, 30.0, n_nodes)
    if n_nodes > 10:
        amounts[9:11] = 0.0
    return make_state(agents, types, health), make_resources(nodes, amounts)


def make_builder(state, resources, width=40.0, height=30.0, **config):
    return make_observation_builder(ObservationConfig(**config), WorldConfig(width, height), state, resources)


def make_step_log(state: AgentState, actions, success=None, attacks=()) -> StepLog:
    """A StepLog for every row of ``state``. ``attacks``: (source id, target id, damage)."""
    n = len(state)
    actions = np.asarray(actions, dtype=np.int8)
    success = np.ones(n, dtype=bool) if success is None else np.asarray(success, dtype=bool)
    attacks = list(attacks)
    empty_i = np.zeros(0, dtype=np.int64)
    return StepLog(
        step=0,
        agent_ids=state.ids.copy(),
        agent_types=state.agent_types.copy(),
        positions=state.positions.copy(),
        resources=state.resources.copy(),
        health=state.health.copy(),
        starvation=state.starvation.copy(),
        rewards=np.zeros(n),
        actions=actions,
        action_targets=np.full(n, -1, dtype=np.int64),
        action_success=success,
        born_ids=empty_i,
        born_types=np.zeros(0, dtype=np.int8),
        born_parent_ids=empty_i,
        born_generations=np.zeros(0, dtype=np.int32),
        died_ids=empty_i,
        interaction_sources=np.array([a[0] for a in attacks], dtype=np.int64),
        interaction_targets=np.array([a[1] for a in attacks], dtype=np.int64),
        interaction_kinds=np.full(len(attacks), 2, dtype=np.int8),
        interaction_amounts=np.array([a[2] for a in attacks], dtype=np.float64),
        resource_amounts=None,
        population_by_type=state.population_by_type(),
        total_resources=0.0,
        step_duration=0.0,
    )
