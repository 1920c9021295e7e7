#!/usr/bin/env python
"""Run an AgentFarm simulation: ``python run_simulation.py --steps 1000 --agents 100``."""

from farm.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
