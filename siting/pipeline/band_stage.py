"""Stage 4c, band: today's and the plan's drive times under the low and the high drive-time
assumption of :mod:`siting.uncertainty` (no I/O besides the network cache)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siting.network import NetworkSpec
from siting.pipeline.inputs_stage import Inputs
from siting.pipeline.keys import Timer
from siting.pipeline.network_stage import Network, load_network_stage, network_spec
from siting.scenario import Scenario
from siting.uncertainty import ASSUMPTIONS, Assumption, scaled


@dataclass
class BandTimes:
    """Minutes under one assumption.

    Attributes
    ----------
    assumption : Assumption
    network : Network or None
        The network rebuilt for the assumption; ``None``: the run's times × the factor are exact
        (no ferries), and ``before``/``after`` are None.
    before, after : ndarray or None
        Minutes from the nearest existing office / open office per demand point on ``network``.
    """

    assumption: Assumption
    network: Network | None = None
    before: np.ndarray | None = None
    after: np.ndarray | None = None

    @property
    def name(self) -> str:
        return self.assumption.name

    def times(self, before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(before, after) under the assumption, given the run's own."""
        return scaled(before, after, self.assumption.factor) if self.network is None else (self.before, self.after)

    def describe(self) -> dict:
        if self.network is None:
            return {"times": "the run's times × factor (a network without ferries: exact)"}
        return {"times": "network rebuilt with these speeds and ferry waits", "network": self.network.graph.source}

    def coverage(self, inputs: Inputs, T: float) -> tuple[np.ndarray, sp.csr_array]:
        """The points beyond ``T`` of every existing office under the assumption, and their sites
        within ``T`` (rows, ``(len(rows), n_sites)`` minutes): all a coverage optimum needs."""
        from siting import traveltime

        rows = np.flatnonzero(~(self.before <= T))
        cost = traveltime.travel_time_matrix(self.network.graph, inputs.demand.geometry.iloc[rows], inputs.sites.geometry, cutoff=T)
        return rows, sp.csr_array(cost)


def has_ferries(network: Network) -> bool:
    """Does the run's network have ferry edges (whose waits the band varies)?"""
    g = network.graph
    if g.is_estimate or not g.spec.ferries:
        return False
    return int(g.info.get("ferry_links", 0) or 0) + int(g.info.get("ferry_edges", 0) or 0) > 0


def variant_spec(spec: NetworkSpec, a: Assumption) -> NetworkSpec:
    """The network settings of an assumption: every drive minute × ``a.factor`` (road, access and
    flat-rule ferry speeds / factor), ferry waits × ``a.wait_scale`` (half a headway → a full one)."""
    f, k = a.factor, a.wait_scale
    if isinstance(spec.ferry_wait, str):
        wait = 0.0 if k == 0 else "full_headway" if k >= 2 else spec.ferry_wait
    else:
        wait = spec.ferry_wait * k
    return spec.model_copy(update={"speed_factor": spec.speed_factor / f, "access_speed_kmh": spec.access_speed_kmh / f,
                                   "ferry_speed_kmh": spec.ferry_speed_kmh / f, "ferry_wait": wait,
                                   "ferry_wait_minutes": spec.ferry_wait_minutes * k})  # fmt: skip


def band_stage(sc: Scenario, inputs: Inputs, network: Network, open_sites, assumptions=ASSUMPTIONS) -> list[BandTimes]:
    """Stage 4c: the times of today's offices and of the plan (``open_sites``) under each assumption.

    On a network without ferries nothing is computed (the run's times × the factor are exact); with
    ferries each assumption's network is built (or read from the cache) and searched twice.
    """
    from siting import traveltime
    from siting.pipeline.metrics_stage import after_times

    if not has_ferries(network):
        return [BandTimes(a) for a in assumptions]
    out = []
    spec = network_spec(sc)
    for a in assumptions:
        net = load_network_stage(sc, Timer(), spec=variant_spec(spec, a))  # timed as part of the band stage
        before, _ = traveltime.nearest_facility_time(net.graph, inputs.demand.geometry, inputs.sites.geometry[inputs.fixed])
        after, _ = after_times(net, inputs, open_sites)
        out.append(BandTimes(a, net, np.asarray(before, float), after))
    return out
