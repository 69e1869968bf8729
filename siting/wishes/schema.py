"""The consultation-answer record: one row per municipality (schema-validated with pydantic)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

YES_NO_UNCLEAR = ("yes", "no", "unclear")
SATISFIED = ("yes", "partly", "no", "unclear")
CHANNELS = ("office", "presence_elsewhere", "walk_in", "phone", "internet", "social_media")
STATUSES = ("asked_with_premises", "asked", "declined", "unclear", "no answer")

COLUMNS = [
    "kommunenummer", "kommune", "answered", "wants_office", "offers_premises", "premises_where", "satisfied",
    "contact_channels", "challenges", "evidence_wants_office", "evidence_offers_premises", "evidence_satisfied",
    "evidence_contact_channels", "confidence", "date", "source_document", "reviewed",
]  # fmt: skip


class WishRecord(BaseModel):
    """A municipality's answer to the ministry's letter of 23 February 2022."""

    model_config = ConfigDict(extra="ignore")

    kommunenummer: str = Field(pattern=r"^\d{4}$")
    kommune: str = ""
    answered: Literal["yes", "no"] = "yes"
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
    date: str = ""
    source_document: str = ""
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
        """Wish status used by the models: asked_with_premises, asked, declined, unclear or no answer."""
        if self.answered != "yes":
            return "no answer"
        if self.wants_office == "yes":
            return "asked_with_premises" if self.offers_premises == "yes" else "asked"
        return "declined" if self.wants_office == "no" else "unclear"
