"""Read municipalities' answer letters and fill a wishes record with transparent rules.

1. **Text**: plain text, PDF (pypdf) or DOCX (python-docx).
2. **Municipality**: the known municipality name most often written as "<name> kommune"/"<name>
   kommune" (letterhead, body, signature).
3. **Questions**: the letter is split at the ministry's five questions (quoted or paraphrased;
   bokmål and nynorsk), recognised by cue words (:data:`QUESTIONS`).
4. **Fields**: each answer is classified with cue words and negations (:data:`CUES`); the sentence
   that decided it is kept as evidence, with a confidence (0.9 for one clear cue, 0.6 for an
   implied value, 0.3 when unclear). Everything goes to a review CSV a person corrects.
"""

from __future__ import annotations

import re
from pathlib import Path

from siting.errors import SitingError

from .schema import CHANNELS, WishRecord

#: Cue patterns that identify each of the ministry's questions (lower-case text).
QUESTIONS: dict[str, str] = {
    "challenges": r"utfordring(er|ar)?\b.*(forebygging|beredskap|sivile)",
    "satisfied": r"(tilfreds|nøgd|fornøyd|fornøgd).*(bemanning|tjenestested|tenestestad)",
    "cooperation": r"(samarbeid|polititenest|polititjenest).*(videreutvikl|vidareutvikl)",
    "resources": r"ressurs(er|ar).*(avsette|setje av|sette av)",
    "access": r"tilgjenge(lighet|lege|ligheit)",
    "new_office": r"(nytt|ny) (tjenestested|tenestestad)",
}
NEG = r"(ikke|ikkje|ingen|ikkje noko|ikke noe)"
CUES: dict[str, dict[str, list[str]]] = {
    "wants_office": {
        "no": [rf"{NEG} (behov|ønske|ynske)", rf"(ønsker|ynskjer|ønskjer) {NEG}", r"(tilfreds|nøgd|fornøyd|fornøgd) med (det|dagens|eksisterande|eksisterende)",
               r"^nei\b", r"\bnei,", r"\bnei\."],
        "yes": [r"(ønsker|ynskjer|ønskjer)( seg)? (et |eit )?(nytt |eige |eget )?(tjenestested|tenestestad|politikontor|lensmannskontor)",
                r"^ja\b", r"\bja,", r"\bja\.", r"(trenger|treng) (et |eit )?(tjenestested|tenestestad)"],
    },
    "offers_premises": {
        "no": [rf"{NEG} (tilby|tilbod|lokal)", rf"kan {NEG} tilby"],
        "yes": [r"(kan|vil) tilby lokal", r"tilby(r)? lokale", r"samlokali", r"stille lokal", r"(har|finst|finnes) (ledige )?lokal"],
    },
    "satisfied": {
        "no": [rf"{NEG} (tilfreds|nøgd|fornøyd|fornøgd)", r"misfornøgd|misfornøyd|utilfreds"],
        "partly": [r"delvis|til dels|dels (tilfreds|nøgd|fornøyd)"],
        "yes": [r"(godt |svært |veldig )?(tilfreds|nøgd|fornøyd|fornøgd)", r"positive? til"],
    },
}
CHANNEL_CUES: dict[str, str] = {
    "office": r"tjenestested|tenestestad|politikontor|lensmannskontor",
    "presence_elsewhere": r"tilstedeværelse|tilstadevering|synlig|synleg|nærvær",
    "walk_in": r"oppmøte|personleg|personlig",
    "phone": r"telefon",
    "internet": r"internett|nettbasert|digital|nettet\b",
    "social_media": r"sosiale medi",
}


def read_text(path: str | Path) -> str:
    """The text of a letter (``.txt``, ``.pdf``, ``.docx``); one-line error if unreadable or empty."""
    p = Path(path)
    if not p.exists():
        raise SitingError("letter not found", path=p)
    suffix = p.suffix.lower()
    try:
        if suffix == ".pdf":
            from pypdf import PdfReader

            text = "\n".join(page.extract_text() or "" for page in PdfReader(p).pages)
        elif suffix == ".docx":
            import docx

            text = "\n".join(par.text for par in docx.Document(str(p)).paragraphs)
        else:
            text = p.read_text(encoding="utf-8", errors="replace")
    except SitingError:
        raise
    except Exception as exc:  # pypdf/python-docx raise many types for broken files
        raise SitingError(f"cannot read the letter ({type(exc).__name__}: {str(exc)[:80]}); is it a valid {suffix} file?",
                          path=p) from None  # fmt: skip
    if not text.strip():
        raise SitingError("the letter has no text (empty, or a scanned PDF without a text layer)", path=p)
    return text


def _sentences(text: str) -> list[str]:
    flat = re.sub(r"\s+", " ", text)
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\s+-\s+", flat) if s.strip()]


def split_answers(text: str) -> dict[str, str]:
    """Split a letter into answers keyed by question (text between a question and the next)."""
    lines = text.splitlines()
    marks = []
    for i, line in enumerate(lines):
        low = line.strip().lower()
        if not low.endswith("?") or low.startswith(("-", "•", "*")):
            continue
        for key, pat in QUESTIONS.items():
            if re.search(pat, low) and key not in [k for k, _ in marks]:
                marks.append((key, i))
                break
    out = {}
    for n, (key, i) in enumerate(marks):
        end = marks[n + 1][1] if n + 1 < len(marks) else len(lines)
        body = [ln for ln in lines[i + 1 : end] if not ln.strip().startswith("- ") or not ln.strip().endswith("?")]
        out[key] = "\n".join(body).split("Med hilsen")[0].split("Med helsing")[0].strip()
    return out


def classify(field: str, answer: str) -> tuple[str, str, float]:
    """Value, evidence sentence and confidence for ``field`` from an answer text."""
    sentences = _sentences(answer)
    for value in ("no", "partly", "yes"):  # negations first: "ikke fornøyd" must not read as "fornøyd"
        for pat in CUES[field].get(value, []):
            for sentence in sentences:
                if re.search(pat, sentence.lower()):
                    return value, sentence, 0.9
    return "unclear", "", 0.3


def identify_municipality(text: str, names: dict[str, str]) -> tuple[str, str] | None:
    """(kommunenummer, name) of the municipality most often named as "<name> kommune"."""
    counts = {}
    low = text.lower()
    for knr, name in names.items():
        n = len(re.findall(rf"\b{re.escape(name.lower())} (kommune|kommunestyre|formannskap)", low))
        if n:
            counts[knr] = n
    if not counts:
        return None
    best = max(sorted(counts), key=lambda k: counts[k])
    return best, names[best]


def extract_letter(path: str | Path, names: dict[str, str]) -> WishRecord:
    """Extract one answer letter into a :class:`WishRecord` (``reviewed = no``)."""
    text = read_text(path)
    who = identify_municipality(text, names)
    if who is None:
        raise SitingError("cannot tell which municipality wrote the letter (no '<name> kommune' found)", path=path)
    answers = split_answers(text)
    if not answers:
        raise SitingError("the letter answers none of the ministry's five questions (no question found)", path=path)
    rec = {"kommunenummer": who[0], "kommune": who[1], "answered": "yes", "source_document": Path(path).name}
    confs = []
    office_text = answers.get("new_office", "")
    rec["wants_office"], rec["evidence_wants_office"], c = classify("wants_office", office_text)
    confs.append(c)
    val, ev, c = classify("offers_premises", office_text)
    if val == "unclear" and rec["wants_office"] == "no":
        val, c = "no", 0.6  # no office wanted: no premises offered (implied)
    rec["offers_premises"], rec["evidence_offers_premises"] = val, ev
    if val == "yes":
        m = re.search(r"(samlokali\w+[^.]*|lokal\w* [^.]*)", office_text, re.IGNORECASE)
        rec["premises_where"] = m.group(1).strip() if m else ""
    confs.append(c)
    rec["satisfied"], rec["evidence_satisfied"], c = classify("satisfied", answers.get("satisfied", ""))
    confs.append(c)
    access = answers.get("access", "")
    found = [ch for ch in CHANNELS if re.search(CHANNEL_CUES[ch], access.lower())]
    rec["contact_channels"] = ";".join(found)
    rec["evidence_contact_channels"] = " ".join(_sentences(access)[:2])
    rec["challenges"] = " ".join(_sentences(answers.get("challenges", ""))[:3])
    dates = re.findall(r"(?:vår dato|dato)[:\s]+(\d{1,2}\.\d{1,2}\.\d{4})", text, re.IGNORECASE) or re.findall(r"\b\d{1,2}\.\d{1,2}\.\d{4}\b", text)
    if dates:
        d, m_, y = dates[0].split(".")
        rec["date"] = f"{y}-{int(m_):02d}-{int(d):02d}"
    rec["confidence"] = round(min(confs), 2)
    return WishRecord.model_validate(rec)
