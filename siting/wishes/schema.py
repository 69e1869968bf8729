"""The consultation-answer record: one row per municipality (schema-validated with pydantic)."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

YES_NO_UNCLEAR = ("yes", "no", "unclear")
SATISFIED = ("yes", "partly", "no", "unclear")
CHANNELS = ("office", "presence_elsewhere", "walk_in", "phone", "internet", "social_media")
STATUSES = ("asked_with_premises", "asked", "declined", "unclear", "no answer on file")
#: How a position is known, strongest first. ``formal answer``: the municipality's answer to the
#: letter (text seen, or its content counted by a source that read the answers); ``reported
#: answer``: the answer's content as reported by others (news, police); ``statement``: a mayor's or
#: council's position, not the answer itself; ``inferred after the fact``: deduced from later events
#: (e.g. the office was granted).
Evidence = Literal["formal answer", "reported answer", "statement", "inferred after the fact"]
EVIDENCE = get_args(Evidence)
#: Columns a wishes file must have (others default as in :class:`WishRecord`).
REQUIRED_COLUMNS = ("kommunenummer", "wants_office")

COLUMNS = [
    "kommunenummer", "kommune", "answered", "wants_office", "offers_premises", "premises_where", "satisfied",
    "contact_channels", "challenges", "evidence_wants_office", "evidence_offers_premises", "evidence_satisfied",
    "evidence_contact_channels", "confidence", "date", "source_document", "source_url", "evidence", "reviewed",
]  # fmt: skip


class WishRecord(BaseModel):
    """A municipality's answer to the ministry's letter of 23 February 2022."""

    model_config = ConfigDict(extra="ignore")

    kommunenummer: str = Field(pattern=r"^\d{4}$")
    kommune: str = ""
    answered: Literal["yes", "no", "unknown"] = "yes"
    wants_office: Literal["yes", "no", "unclear"] = "unclear"
    offers_premises: Literal["yes", "no", "unclear"] = "unclear"
    premises_where: str = ""
    satisfied: Literal["yes", "partly", "no", "unclear"] = "unclear"
    contact_channels: str = ""
    challenges: str = ""
    evidence_wants_office: str = ""
    evidence_offers_premises: str = ""
    evidence_satisfied: str = ""
    evidence_contact_channels: str = ""
    confidence: float = Field(0.0, ge=0, le=1)
    date: str = Field("", pattern=r"^(\d{4}(-\d{2}(-\d{2})?)?)?$")
    source_document: str = ""
    source_url: str = ""
    evidence: Evidence = "formal answer"
    reviewed: Literal["yes", "no"] = "no"

    @field_validator("contact_channels")
    @classmethod
    def _channels(cls, v: str) -> str:
        items = [x.strip() for x in v.split(";") if x.strip()]
        bad = [x for x in items if x not in CHANNELS]
        if bad:
            raise ValueError(f"unknown channel {bad[0]!r} (allowed: {', '.join(CHANNELS)}; separate with ';')")
        return ";".join(items)

    def status(self) -> str:
        """Wish status: asked_with_premises, asked, declined, unclear or ``no answer on file``
        (no known position and no answer: never read as "no")."""
        if self.wants_office == "yes":
            return "asked_with_premises" if self.offers_premises == "yes" else "asked"
        if self.wants_office == "no":
            return "declined"
        return "no answer on file" if self.answered == "no" else "unclear"
