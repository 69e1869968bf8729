"""Consultation wishes: the Elverum letter, synthetic letters (bokmål and nynorsk), malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest

from siting.cli import main
from siting.data import load_kommuner_geometry
from siting.errors import DataError, SitingError
from siting.paths import DATA_DIR, shared_data_dir
from siting.wishes import EVIDENCE, counts_for, load_wishes, wish_status
from siting.wishes.extract import extract_letter

LETTERS = Path(__file__).parent / "synthetic_letters"


@pytest.fixture(scope="module")
def names():
    k = load_kommuner_geometry()
    return dict(zip(k.kommunenummer, k.name, strict=True))


@pytest.fixture(scope="module")
def seeds():
    shared = shared_data_dir()
    if shared is None or not (shared.parent / "seeds").exists():
        pytest.skip("source documents ../shared/seeds not present")
    return shared.parent / "seeds"


def test_elverum_letter_reproduces_its_answers(seeds, names):
    r = extract_letter(seeds / "004_ac97c43636cddae3.txt", names)
    assert (r.kommunenummer, r.kommune) == ("3420", "Elverum")
    assert r.wants_office == "no" and "tilfreds med det tjenestestedet" in r.evidence_wants_office
    assert r.satisfied == "yes" and "fornøyd" in r.evidence_satisfied
    assert r.contact_channels == "social_media" and "tilgjengeligheten er god" in r.evidence_contact_channels
    assert r.date == "2022-05-30" and r.status() == "declined"


@pytest.mark.parametrize(
    ("letter", "kommune", "wants", "premises", "satisfied"),
    [
        ("synthetic_bokmal_yes.txt", "Engerdal", "yes", "yes", "no"),
        ("synthetic_nynorsk_no.txt", "Vaksdal", "no", "no", "partly"),
        ("synthetic_nynorsk_unclear.txt", "Åseral", "unclear", "unclear", "yes"),
    ],
)
def test_synthetic_letters(names, letter, kommune, wants, premises, satisfied):
    r = extract_letter(LETTERS / letter, names)
    assert (r.kommune, r.wants_office, r.offers_premises, r.satisfied) == (kommune, wants, premises, satisfied)


def test_docx_and_pdf_letters(names, tmp_path):
    import docx

    text = (LETTERS / "synthetic_bokmal_yes.txt").read_text(encoding="utf-8")
    d = docx.Document()
    for line in text.splitlines():
        d.add_paragraph(line)
    d.save(tmp_path / "synthetic.docx")
    assert extract_letter(tmp_path / "synthetic.docx", names).wants_office == "yes"
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    with pytest.raises(SitingError, match="cannot read the letter|no text"):
        extract_letter(tmp_path / "broken.pdf", names)


def test_malformed_letters(names, tmp_path):
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(SitingError, match="has no text"):
        extract_letter(tmp_path / "empty.txt", names)
    (tmp_path / "noq.txt").write_text("Engerdal kommune takker for brevet.\nMed hilsen\n", encoding="utf-8")
    with pytest.raises(SitingError, match="answers none of the ministry's five questions"):
        extract_letter(tmp_path / "noq.txt", names)


def test_bundled_wishes_hold_only_sourced_positions():
    w = load_wishes(DATA_DIR / "wishes" / "wishes.csv", kommuner=load_kommuner_geometry())
    assert len(w) == 16 and w.reviewed.eq("yes").all()
    # every record names its source (a public URL, or for Elverum the letter itself) and its evidence
    assert (w.source_url.str.startswith("https://") | w.kommunenummer.eq("3420")).all()
    assert w.loc[w.kommunenummer == "3420", "source_document"].str.contains("004_ac97c43636cddae3.txt").all()
    assert set(w.evidence) == set(EVIDENCE)
    by = w.set_index("kommunenummer")
    assert by.loc["3420", ["status", "evidence", "date"]].tolist() == ["declined", "formal answer", "2022-05-30"]
    assert by.loc["3046", ["status", "evidence"]].tolist() == ["asked", "formal answer"]  # Krødsherad
    assert by.loc["5417", "evidence"] == "reported answer" and by.loc["3425", "evidence"] == "inferred after the fact"
    assert (w.offers_premises[w.kommunenummer != "3420"] == "unclear").all()  # no source states premises offered
    # unknown stays unknown: Oslo has no record, so "no answer on file", never "no"
    st = wish_status(w, ["3420", "0301"])
    assert list(st) == ["declined", "no answer on file"]
    t = load_wishes(DATA_DIR / "wishes" / "template.csv")
    assert len(t) == 356 and t.status.eq("no answer on file").all()


def test_validate_cli_summarises_status_and_evidence(capsys):
    assert main(["wishes", "validate", str(DATA_DIR / "wishes" / "wishes.csv")]) == 0
    out = capsys.readouterr().out
    assert "ok, 16 municipalities" in out and "formal answer 3" in out and "no answer on file" in out


def test_evidence_policy_decides_which_records_count():
    w = load_wishes(DATA_DIR / "wishes" / "wishes.csv")
    declined = w.kommunenummer[w.status == "declined"]
    formal = counts_for(w, declined, "formal answer")
    assert list(declined[formal.to_numpy()]) == ["3420"]  # only Elverum's letter is a formal "no"
    reported = counts_for(w, declined, "reported answer")
    assert sorted(declined[reported.to_numpy()]) == ["3420", "4637"]  # + Hyllestad (NRK phone round)
    assert counts_for(w, declined, "inferred after the fact").all()
    assert not counts_for(w, ["0301"], "inferred after the fact").any()  # no record never counts
    with pytest.raises(DataError, match="unknown evidence level"):
        counts_for(w, ["3420"], "rumour")


@pytest.mark.parametrize("header", ["kommunenummer,answered", "kommunenummer,want_office", "kommunenummer,Wants Office"])
def test_wishes_without_wants_office_column_is_an_error(tmp_path, capsys, header):
    """Issue 15 C7: a missing or misspelled wants_office column must not turn every row into "unclear"."""
    f = tmp_path / "w.csv"
    f.write_text(f"{header}\n3420,yes\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing required column 'wants_office'"):
        load_wishes(f)
    assert main(["wishes", "validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "wants_office" in err and str(f) in err
    if "want" in header.lower():
        assert "misspelled" in err


def test_elverum_seed_letter_matches_bundled_record(seeds, names):
    """`siting wishes extract` on the real seed letter gives the bundled Elverum record."""
    r = extract_letter(seeds / "004_ac97c43636cddae3.txt", names)
    bundled = load_wishes(DATA_DIR / "wishes" / "wishes.csv").set_index("kommunenummer").loc["3420"]
    assert (r.wants_office, r.offers_premises, r.satisfied, r.date) == (
        bundled.wants_office, bundled.offers_premises, bundled.satisfied, bundled.date)
    assert r.evidence == "formal answer"


def test_bad_wishes_file_is_one_line(tmp_path, capsys):
    f = tmp_path / "w.csv"
    f.write_text("kommunenummer,wants_office\n9999,yes\n", encoding="utf-8")
    with pytest.raises(DataError, match="unknown municipality number 9999"):
        load_wishes(f, kommuner=load_kommuner_geometry())
    f.write_text("kommunenummer,wants_office\n3420,maybe\n", encoding="utf-8")
    assert main(["wishes", "validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "wants_office" in err and "'yes', 'no' or 'unclear'" in err


def test_extract_cli_writes_review_csv(tmp_path):
    out = tmp_path / "review.csv"
    assert main(["wishes", "extract", str(LETTERS / "synthetic_bokmal_yes.txt"), "--out", str(out)]) == 0
    assert load_wishes(out).status.iloc[0] == "asked_with_premises"
