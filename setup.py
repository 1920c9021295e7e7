"""Packaging of the AgentFarm engine (farm) and the extras of its benchmark history: bench, profile, dev."""

from setuptools import find_packages, setup

# asv_runner is pinned: the suite relies on 0.3.2 re-running setup before every timed call
# (benchmarks that consume their setup, and number > 1 on classes with a setup).
BENCH = ["asv==0.6.6", "asv_runner==0.3.2", "virtualenv>=20"]
PROFILE = [
    "snakeviz>=2.2.0",
    "line_profiler>=4.1.0",
    "memory_profiler>=0.61.0",
    "py-spy>=0.3.14",
    "yappi>=1.4.0",
]

setup(
    name="agentfarm-bench",
    version="0.1.0",
    description="AgentFarm multi-agent simulation engine and its benchmark history",
    packages=find_packages(include=["farm", "farm.*"]),
    python_requires=">=3.11",
    install_requires=[
        "numpy>=1.26",
        "scipy>=1.11",
        # The CPU wheel of this exact release lies on the build machines' disk; an unpinned
        # torch resolves to a multi-GB CUDA build.
        "torch==2.13.0",
        "psutil>=5.9",
        "matplotlib>=3.7",
    ],
    extras_require={
        "bench": BENCH,
        "profile": PROFILE,
        # Everything the test suite exercises: the benchmark workflows and every profiler.
        # pytest-xdist: .ci/test runs the tests that time nothing on every core.
        "dev": ["pytest>=8", "pytest-xdist>=3.8", "hypothesis>=6.100", "ruff>=0.6"] + BENCH + PROFILE,
    },
    entry_points={
        "console_scripts": [
            "agentfarm=farm.cli:main",
            "run_profiling_suite=farm.profiling.suite:main",
        ]
    },
)
