"""Self-contained HTML maps for decision-makers.

One map per run (:func:`make_map`, :func:`map_from_run`) and one map comparing two runs
(:func:`compare_map`). Municipality geometry is embedded once — simplified as a coverage (shared
borders stay shared), quantised and delta-encoded — and one municipality layer is restyled by a
selector (drive time with the plan, today, change, people newly within T, offences). The sites are
numbered in the one rank order (:func:`siting.style.ranked`). Leaflet and its plugins, the map
script (``siting/static/siting-map.js``) and the icons are inlined, so the file opens offline; only
the optional OpenStreetMap background needs internet. Drawn in EPSG:4326. All text from the data is
escaped (HTML) and the JSON payload cannot close its script.

Modules, in the order the data flows: :mod:`~siting.maps.scales` (colour scales),
:mod:`~siting.maps.encode` (geometry and JSON), :mod:`~siting.maps.payload` (the page's data from a
run's layers), :mod:`~siting.maps.page` (panel, legend, inlined assets, writing),
:mod:`~siting.maps.single` and :mod:`~siting.maps.compare` (the two kinds of map).
"""

from siting.maps.compare import SAME_SITE_M, compare_map, compare_people, match_sites
from siting.maps.encode import QUANTUM, SIMPLIFY_M, encode_polygons
from siting.maps.page import NORWAY_BOUNDS, inline_assets, page_lang, write_map
from siting.maps.payload import demand_layer, offence_rate, people_within, ranked_proposals
from siting.maps.scales import Scale, nice_step, robust_range, symmetric_range, time_scale
from siting.maps.single import LAYERS, OPTIONAL_LAYERS, make_map, map_from_run, read_run_layers

__all__ = ["LAYERS", "NORWAY_BOUNDS", "OPTIONAL_LAYERS", "QUANTUM", "SAME_SITE_M", "SIMPLIFY_M", "Scale", "compare_map", "compare_people",
           "demand_layer", "encode_polygons", "inline_assets", "make_map", "map_from_run", "match_sites", "nice_step", "offence_rate",
           "page_lang", "people_within", "ranked_proposals", "read_run_layers", "robust_range", "symmetric_range", "time_scale",
           "write_map"]  # fmt: skip
