"""``siting run``: a scenario through every stage of :mod:`siting.pipeline` into a run folder.

Kept as the stable entry point (``from siting.run import run_scenario``); the stages themselves
(inputs → network → drive-time matrix → model → metrics → outputs) live in :mod:`siting.pipeline`.
"""

from siting.pipeline import run_scenario

__all__ = ["run_scenario"]
