"""The rules of the act stage, one pure function per rule over arrays.

Within the act stage all actions resolve simultaneously against the state at the start of the
stage; :meth:`farm.core.simulation.Simulation.act` composes the rules in this order and applies
what they return:

* MOVE (:func:`move`): toward the nearest perceived non-empty node (stopping on it), else in a
  random heading; positions are clamped to the world.
* GATHER (:func:`gather`): requests on one node are granted in full when they fit its amount;
  otherwise the node is emptied and split in proportion to the requests.
* SHARE (:func:`share`): the giver hands ``min(share_amount, its resources)`` to its nearest
  ally (resources at the start of the stage); gifts add up.
* DEFEND (:func:`defend`) and ATTACK (:func:`attack`): damage to one target adds up over
  attackers; a DEFENDing target takes ``defend_factor`` of each hit. Health is floored at 0.
* REPRODUCE (:func:`reproduce`, :func:`place_offspring`): when more agents ask than the
  population cap leaves room for, the lowest agent ids (rows) reproduce first. The parent pays
  ``reproduce_cost``; the child appears within ``birth_radius`` of the parent at the end of the
  step.
* Death (:func:`death`): every agent consumes ``consumption``; an agent with no resources left
  adds one to its starvation counter (otherwise it resets); agents with health 0 or a counter
  past ``starvation_threshold`` die.
* Reward (:func:`reward`): change in resources, plus ``health_reward_weight`` times the change
  in health, minus ``death_penalty`` for a death or plus ``survival_bonus`` otherwise.

The functions never modify their arguments and draw no random numbers: the caller passes the
random headings and birth offsets it drew, so each rule can be tested on hand-built arrays.
"""

from __future__ import annotations

import numpy as np

from farm.core.actions import Action
from farm.core.outcomes import Attacks, Gathering, Movement, Sharing, Upkeep
from farm.resources.consumption import split_requests

__all__ = ["move", "gather", "share", "defend", "attack", "reproduce", "place_offspring", "death", "reward"]


def move(
    positions: np.ndarray,
    movers: np.ndarray,
    move_target: np.ndarray,
    node_positions: np.ndarray,
    wander_angles: np.ndarray,
    move_speed: float,
    bounds: np.ndarray,
) -> Movement:
    """MOVE: step ``move_speed`` toward the target node (stopping on it), or wander.

    A mover with a target node heads straight for it and covers ``min(move_speed, distance)``;
    one without a target goes ``move_speed`` along its random heading. The end point is clamped
    to ``[0, bounds]``. A move succeeds when the position changes.

    Args:
        positions: ``(n, 2) float64`` agent positions.
        movers: ``(k,) int64`` rows of the moving agents, ascending.
        move_target: ``(n,) int64`` target node of every agent, -1 for none.
        node_positions: ``(m, 2) float64`` resource node positions.
        wander_angles: ``(w,) float64`` headings in radians of the movers without a target, in
            the order of ``movers``.
        move_speed: the distance of one step.
        bounds: ``(2,) float64`` world width and height.

    Returns:
        :class:`~farm.core.outcomes.Movement` of the ``k`` movers.
    """
    start = positions[movers]
    node = move_target[movers]
    heading = np.empty_like(start)
    seeking = node >= 0
    delta = node_positions[node[seeking]] - start[seeking]
    distance = np.hypot(delta[:, 0], delta[:, 1])
    stride = np.minimum(move_speed, distance)
    with np.errstate(invalid="ignore", divide="ignore"):
        heading[seeking] = np.where(distance[:, None] > 0, delta * (stride / distance)[:, None], 0.0)
    heading[~seeking] = move_speed * np.column_stack((np.cos(wander_angles), np.sin(wander_angles)))
    end = np.clip(start + heading, 0.0, bounds)
    return Movement(rows=movers, positions=end, success=np.any(end != start, axis=1))


def gather(
    gatherers: np.ndarray, gather_target: np.ndarray, node_amounts: np.ndarray, gather_amount: float
) -> Gathering:
    """GATHER: every gatherer asks its target node for ``gather_amount``, all at once.

    When the requests on one node add up to no more than its amount, each is granted in full;
    otherwise the node is emptied and split in proportion to the requests. (The split is
    :func:`farm.resources.consumption.split_requests`, which ``ResourceManager.consume`` applies too.)

    Args:
        gatherers: ``(k,) int64`` rows of the gathering agents.
        gather_target: ``(n,) int64`` target node of every agent (>= 0 for every gatherer).
        node_amounts: ``(m,) float64`` current node amounts.
        gather_amount: what one gatherer asks for.

    Returns:
        :class:`~farm.core.outcomes.Gathering`: what each gatherer receives and what each node
        loses.
    """
    nodes = gather_target[gatherers]
    requests = np.full(gatherers.size, gather_amount, dtype=np.float64)
    split = split_requests(nodes, requests, node_amounts)
    return Gathering(rows=gatherers, nodes=nodes, granted=split.granted, drawn_nodes=split.drawn_nodes,
                     taken=split.taken)


def share(givers: np.ndarray, ally_target: np.ndarray, resources: np.ndarray, share_amount: float) -> Sharing:
    """SHARE: each giver hands ``min(share_amount, its resources)`` to its nearest ally.

    Gifts to one receiver add up. ``resources`` are the levels at the start of the act stage,
    so what an agent gathers or receives this step cannot be given on.

    Args:
        givers: ``(k,) int64`` rows of the sharing agents.
        ally_target: ``(n,) int64`` row of every agent's nearest ally (>= 0 for every giver).
        resources: ``(n,) float64`` resource levels at the start of the stage.
        share_amount: the most one gift can be.

    Returns:
        :class:`~farm.core.outcomes.Sharing` with each gift and the ``(n,)`` sums received.
    """
    receivers = ally_target[givers]
    gifts = np.minimum(share_amount, resources[givers])
    received = np.bincount(receivers, weights=gifts, minlength=resources.shape[0])
    return Sharing(rows=givers, receivers=receivers, gifts=gifts, received=received)


def defend(actions: np.ndarray) -> np.ndarray:
    """DEFEND: a defending agent takes ``defend_factor`` of each hit this step.

    Defending always succeeds.

    Args:
        actions: ``(n,) int`` chosen :class:`~farm.core.actions.Action` values.

    Returns:
        ``(n,) bool``: True for the defending agents.
    """
    return actions == Action.DEFEND


def attack(
    attackers: np.ndarray,
    enemy_target: np.ndarray,
    defending: np.ndarray,
    attack_damage: float,
    defend_factor: float,
) -> Attacks:
    """ATTACK: each attacker hits its nearest enemy for ``attack_damage``.

    A defending victim takes ``defend_factor`` of each hit; hits on one victim add up. The
    caller floors health at 0.

    Args:
        attackers: ``(k,) int64`` rows of the attacking agents.
        enemy_target: ``(n,) int64`` row of every agent's nearest enemy (>= 0 for every
            attacker).
        defending: ``(n,) bool`` agents that defend this step (:func:`defend`).
        attack_damage: damage of one undefended hit.
        defend_factor: fraction of a hit a defending agent takes.

    Returns:
        :class:`~farm.core.outcomes.Attacks` with each hit and the ``(n,)`` damage taken.
    """
    victims = enemy_target[attackers]
    damage = attack_damage * np.where(defending[victims], defend_factor, 1.0)
    damage_taken = np.bincount(victims, weights=damage, minlength=defending.shape[0])
    return Attacks(rows=attackers, victims=victims, damage=damage, damage_taken=damage_taken)


def reproduce(actions: np.ndarray, population_cap: int) -> np.ndarray:
    """REPRODUCE: who may reproduce, lowest rows (ids) first, as many as the cap leaves room for.

    Args:
        actions: ``(n,) int`` chosen :class:`~farm.core.actions.Action` values; ``n`` is the
            population at the start of the step.
        population_cap: the most agents the world may hold.

    Returns:
        ``(p,) int64`` rows of the parents, ascending.
    """
    room = max(population_cap - actions.shape[0], 0)
    return np.flatnonzero(actions == Action.REPRODUCE)[:room]


def place_offspring(parent_positions: np.ndarray, offsets: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Where the children appear: each parent's position plus its offset, clamped to the world.

    Args:
        parent_positions: ``(p, 2) float64``.
        offsets: ``(p, 2) float64`` draws in ``[-birth_radius, birth_radius)``.
        bounds: ``(2,) float64`` world width and height.

    Returns:
        ``(p, 2) float64`` child positions.
    """
    return np.clip(parent_positions + offsets, 0.0, bounds)


def death(
    resources: np.ndarray,
    health: np.ndarray,
    starvation: np.ndarray,
    consumption: float,
    starvation_threshold: int,
) -> Upkeep:
    """Consumption, starvation and death, after every action has resolved.

    Every agent consumes ``consumption`` (resources are floored at 0); an agent left with no
    resources adds one to its starvation counter, any other resets it to 0. Agents with health
    0 or a counter past ``starvation_threshold`` die.

    Args:
        resources: ``(n,) float64`` resources after the actions.
        health: ``(n,) float64`` health after the attacks.
        starvation: ``(n,) int32`` counters at the start of the step.
        consumption: resources every agent uses per step.
        starvation_threshold: counter value an agent survives; one more kills it.

    Returns:
        :class:`~farm.core.outcomes.Upkeep` with the new resources, counters and deaths.
    """
    after = resources - consumption
    starving = after <= 0.0
    np.maximum(after, 0.0, out=after)
    counters = np.where(starving, starvation + 1, 0).astype(np.int32)
    died = (health <= 0.0) | (counters > starvation_threshold)
    return Upkeep(resources=after, starvation=counters, died=died)


def reward(
    resources_before: np.ndarray,
    resources_after: np.ndarray,
    health_before: np.ndarray,
    health_after: np.ndarray,
    died: np.ndarray,
    health_reward_weight: float,
    death_penalty: float,
    survival_bonus: float,
) -> np.ndarray:
    """What one step earned each agent.

    ``(resources_after - resources_before) + health_reward_weight * (health_after -
    health_before)``, minus ``death_penalty`` for an agent that died, plus ``survival_bonus``
    for one that lives.

    Args:
        resources_before: ``(n,) float64`` resources at the start of the stage.
        resources_after: ``(n,) float64`` resources at its end.
        health_before: ``(n,) float64`` health at the start of the stage.
        health_after: ``(n,) float64`` health at its end.
        died: ``(n,) bool``.
        health_reward_weight: weight of a unit of health against a unit of resources.
        death_penalty: subtracted on death.
        survival_bonus: added for surviving the step.

    Returns:
        ``(n,) float64`` rewards.
    """
    return (
        (resources_after - resources_before)
        + health_reward_weight * (health_after - health_before)
        + np.where(died, -death_penalty, survival_bonus)
    )
