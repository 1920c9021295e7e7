"""Seeded synthetic StepLogs with births, deaths, interactions and training metrics."""

from __future__ import annotations

import numpy as np

from farm.core.records import StepLog

__all__ = ["synthetic_run"]


def synthetic_run(
    steps: int, agents: int = 50, seed: int = 0, resource_interval: int = 3, nodes: int = 20
) -> tuple[dict[str, np.ndarray], list[StepLog]]:
    """Initial agents (ids, types, parent_ids, generations) and ``steps`` consistent StepLogs.

    Each step ~5% of the acting agents die and ~5% reproduce (child ids continue the sequence).
    """
    rng = np.random.default_rng(seed)
    ids = np.arange(agents, dtype=np.int64)
    types = rng.integers(0, 3, agents).astype(np.int8)
    generations = np.zeros(agents, dtype=np.int32)
    initial = {"ids": ids.copy(), "types": types.copy(), "parent_ids": np.full(agents, -1, dtype=np.int64),
               "generations": generations.copy()}
    next_id = agents
    logs = []
    for step in range(steps):
        n = len(ids)
        positions = rng.random((n, 2)) * 100.0
        actions = rng.integers(0, 7, n).astype(np.int8)
        dies = rng.random(n) < 0.05
        parents = (rng.random(n) < 0.05) & ~dies
        born = int(parents.sum())
        born_ids = np.arange(next_id, next_id + born, dtype=np.int64)
        next_id += born
        born_types = types[parents]
        born_generations = generations[parents] + 1
        k = int(rng.integers(0, n // 2 + 1))
        metrics = {}
        if step % 4 == 1:
            metrics = {
                "system": {"loss": float(rng.random()), "epsilon": 0.5},
                "control": {"loss": float(rng.random())},
            }
        new_types = np.concatenate([types[~dies], born_types])
        logs.append(
            StepLog(
                step=step,
                agent_ids=ids.copy(),
                agent_types=types.copy(),
                positions=positions,
                resources=rng.random(n) * 20,
                health=rng.random(n) * 100,
                starvation=rng.integers(0, 10, n).astype(np.int32),
                rewards=rng.normal(size=n),
                actions=actions,
                action_targets=rng.integers(-1, next_id, n),
                action_success=rng.random(n) < 0.5,
                born_ids=born_ids,
                born_types=born_types,
                born_parent_ids=ids[parents],
                born_generations=born_generations.astype(np.int32),
                died_ids=ids[dies],
                interaction_sources=rng.integers(0, next_id, k),
                interaction_targets=rng.integers(0, next_id, k),
                interaction_kinds=rng.integers(0, 4, k).astype(np.int8),
                interaction_amounts=rng.random(k),
                resource_amounts=rng.random(nodes) * 10 if step % resource_interval == 0 else None,
                population_by_type=np.bincount(new_types, minlength=3).astype(np.int64),
                total_resources=float(rng.random() * 1000),
                step_duration=float(rng.random() * 0.01),
                training_metrics=metrics,
            )
        )
        ids = np.concatenate([ids[~dies], born_ids])
        types = new_types
        generations = np.concatenate([generations[~dies], born_generations])
    return initial, logs
