"""The message catalogue, Norwegian number formatting, the one rank order, and no English on an nb page."""

from __future__ import annotations

import re
import string

import numpy as np
import pandas as pd
import pytest
from i18n_check import MARKERS, english_words

from siting import i18n
from siting.errors import SitingError
from siting.messages import MESSAGES
from siting.style import SITE_COLORS, css_vars, rank_order, ranked


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_message_has_both_languages_with_the_same_placeholders():
    for key, entry in MESSAGES.items():
        assert set(entry) == set(i18n.LANGS), key
        assert _fields(entry["nb"]) == _fields(entry["en"]), key
        assert entry["nb"].count("<b>") == entry["en"].count("<b>"), key


def test_a_missing_key_raises_instead_of_leaving_a_hole():
    with pytest.raises(KeyError, match="not in the catalogue"):
        i18n.t("no.such.key", "nb")
    with pytest.raises(SitingError, match="allowed: nb, en"):
        i18n.t("legend", "de")


def test_numbers_the_norwegian_way():
    assert i18n.num(1234.5, 1, "nb") == "1\u202f234,5" and i18n.num(1234.5, 1, "en") == "1\u202f234.5"
    assert i18n.pct(0.1234, 1, "nb") == "12,3\u00a0%" and i18n.pct(0.1234, 1, "en") == "12.3\u00a0%"
    assert i18n.people(86_049.7, 100, "nb") == "86\u202f000" and i18n.people(86_049.7, 10) == "86\u202f050"
    assert i18n.signed_people(-1234, 100, "nb") == "\u22121\u202f200" and i18n.signed_people(40, 100) == "0"
    assert i18n.minutes(12.34, 1, "nb") == "12,3\u00a0min" and i18n.num(-0.04, 1) == "0,0"
    assert i18n.tick(2.5, "nb") == "2,5" and i18n.tick(-10.0, "en") == "\u221210" and i18n.points(0.0072, 1, "nb") == "+0,7"
    assert i18n.num(float("nan")) == i18n.DASH == i18n.pct(None)
    # T in a message: 30.0 → "30", 2.5 → "2,5"
    assert i18n.t("area.before", "nb", T=30.0) == "Innen 30 min i dag" and i18n.t("area.before", "nb", T=2.5) == "Innen 2,5 min i dag"
    # HTML messages keep their markup and escape their arguments
    assert i18n.th("cmp.site_both", "en", name="<b>x</b>") == "In both plans: &lt;b&gt;x&lt;/b&gt;"


def test_bands_print_next_to_the_value():
    fmt = lambda v: i18n.people(v, 100, "nb")  # noqa: E731
    assert i18n.with_band(fmt(40_930), {"low": 36_020, "high": 44_980}, fmt) == "40\u202f900 (36\u202f000–45\u202f000)"
    assert i18n.with_band("40 900", None, fmt) == "40 900"
    assert i18n.value_of({"value": 3.0, "low": 1, "high": 4}) == 3.0 and i18n.value_of(3.0) == 3.0


def test_one_rank_order_by_people_newly_within_T_then_site_id():
    newly = np.array([0.0, 3561.1, 10827.3, 0.0, 3561.4])  # 3561.1 and 3561.4 are the same in whole people
    ids = ["cand-2617", "cand-3643", "cand-1421", "cand-0000", "cand-0001"]
    assert [ids[i] for i in rank_order(newly, ids)] == ["cand-1421", "cand-0001", "cand-3643", "cand-0000", "cand-2617"]
    df = ranked(pd.DataFrame({"site_id": ids, "pop_newly_covered": newly, "rank": range(5)}), "pop_newly_covered")
    assert list(df["rank"]) == [1, 2, 3, 4, 5] and df["site_id"].iloc[0] == "cand-1421"


def test_site_colours_reach_the_map_stylesheet():
    css = css_vars()
    assert all(c in css for c in SITE_COLORS.values()) and "--siting-new:#d7301f" in css


def test_marker_words_are_english_only():
    assert {"people", "within", "today", "offices", "legend"} <= MARKERS
    assert not MARKERS & {"innbyggere", "innen", "min", "kommune", "politidistrikt", "oslo"}


def test_nb_map_has_no_english_and_en_map_has_no_norwegian_gaps(tmp_path):
    from test_maps import single_map

    _, page = single_map(tmp_path / "nb")
    assert re.search(r'<html lang="nb"', page)
    assert english_words(page, ["synthetic", "other"]) == []  # "other": a synthetic office type (data)
    _, page = single_map(tmp_path / "en", lang="en")
    assert {"Legend", "People", "Within"} <= set(english_words(page))


def test_scenario_title_and_language(tmp_path):
    from siting.scenario import scenario_errors

    ok = tmp_path / "ok.yaml"
    ok.write_text('name: x\ntitle: "Regjeringens 20 nye tjenestesteder (2022–2024)"\noutputs:\n  language: en\n', encoding="utf-8")
    sc, errors = scenario_errors(ok)
    assert not errors and sc.title.startswith("Regjeringens") and sc.outputs.language == "en"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\noutputs:\n  language: de\n", encoding="utf-8")
    _, errors = scenario_errors(bad)
    assert len(errors) == 1 and ":3: outputs.language:" in errors[0] and "'nb' or 'en'" in errors[0]


def test_uncertainty_bands_print_next_to_the_map_headline(tmp_path):
    from test_maps import synthetic_run

    from siting.maps import make_map, write_map

    layers, metrics, manifest = synthetic_run()
    metrics["headline"]["band"] = {"share_within_T_after": {"low": 0.88, "high": 0.92}, "mean_time_after": {"low": 12.1, "high": 13.4}}
    page = write_map(make_map(*(layers[k] for k in ("kommuner", "stations", "proposals", "coverage_before", "coverage_after")), metrics,
                              manifest, demand=layers["demand"]), tmp_path / "m.html").read_text(encoding="utf-8")  # fmt: skip
    assert "<b>90,0\u00a0% (88,0\u00a0%–92,0\u00a0%)</b>" in page and "12,8\u00a0min (12,1\u00a0min–13,4\u00a0min)" in page
