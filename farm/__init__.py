"""AgentFarm: a multi-agent simulation engine built for measurement."""

__version__ = "0.1.0"
