"""The 12 police districts (politidistrikter) since the 2015-2017 police reform.

A municipality's district follows its *former* county (before the 2020 county merger), with the
exceptions decided in the reform (Prop. 61 LS (2014-2015), Innst. 306 L) and the 2019 adjustment
after municipal mergers (regjeringen.no, "Justering av distriktsinndelingen i politi- og
lensmannsetaten etter kommunesammenslåinger"):

* Oslo district: Oslo, Bærum and Asker (Asker including former Røyken and Hurum from 2020).
* Øst: the former counties Østfold and Akershus except Asker and Bærum.
* Sør-Øst: the former counties Buskerud, Vestfold and Telemark.
* Innlandet: the former counties Hedmark and Oppland, including Jevnaker and Lunner that moved to
  Viken county in 2020.
* Sør-Vest: Rogaland, Sirdal (Agder) and the Sunnhordland/Haugaland municipalities Etne, Sveio,
  Bømlo, Stord and Fitjar (Vestland).
* Agder: Agder except Sirdal.  Vest: Vestland except the five above.
* Møre og Romsdal (incl. Volda with former Hornindal).  Trøndelag (incl. Bindal in Nordland, and Heim).
* Nordland: Nordland except Bindal.  Troms: the former county Troms (incl. Tjeldsund from 2020).
* Finnmark: the former county Finnmark.
"""

from __future__ import annotations

POLICE_DISTRICTS: tuple[str, ...] = (
    "Oslo",
    "Øst",
    "Innlandet",
    "Sør-Øst",
    "Agder",
    "Sør-Vest",
    "Vest",
    "Møre og Romsdal",
    "Trøndelag",
    "Nordland",
    "Troms",
    "Finnmark",
)

#: Municipalities (2020 numbers) whose district is not the default of their 2020 county.
EXCEPTIONS: dict[str, str] = {
    "3024": "Oslo",  # Bærum
    "3025": "Oslo",  # Asker (with Røyken and Hurum)
    "3053": "Innlandet",  # Jevnaker (former Oppland)
    "3054": "Innlandet",  # Lunner (former Oppland)
    "4228": "Sør-Vest",  # Sirdal
    "4611": "Sør-Vest",  # Etne
    "4612": "Sør-Vest",  # Sveio
    "4613": "Sør-Vest",  # Bømlo
    "4614": "Sør-Vest",  # Stord
    "4615": "Sør-Vest",  # Fitjar
    "1811": "Trøndelag",  # Bindal
}

#: Viken (30) municipalities of the former county Buskerud (and Svelvik, in Drammen): Sør-Øst.
_VIKEN_SOR_OST = {
    "3005", "3006", "3007", "3038", "3039", "3040", "3041", "3042", "3043", "3044", "3045", "3046",
    "3047", "3048", "3049", "3050", "3051", "3052",
}  # fmt: skip

#: Troms og Finnmark (54) municipalities of the former county Finnmark.
_FINNMARK = {"5403", "5404", "5405", "5406"} | {f"54{n}" for n in range(30, 45)}

_COUNTY_DEFAULT = {
    "03": "Oslo",
    "11": "Sør-Vest",
    "15": "Møre og Romsdal",
    "18": "Nordland",
    "30": "Øst",
    "34": "Innlandet",
    "38": "Sør-Øst",
    "42": "Agder",
    "46": "Vest",
    "50": "Trøndelag",
    "54": "Troms",
}


def police_district_for(kommunenummer: str) -> str:
    """Return the police district of a municipality (2020-2023 municipality number).

    Parameters
    ----------
    kommunenummer : str
        Four-digit municipality number, e.g. ``"3401"``.

    Returns
    -------
    str
        One of :data:`POLICE_DISTRICTS`.
    """
    knr = f"{int(kommunenummer):04d}"
    if knr in EXCEPTIONS:
        return EXCEPTIONS[knr]
    if knr in _VIKEN_SOR_OST:
        return "Sør-Øst"
    if knr in _FINNMARK:
        return "Finnmark"
    try:
        return _COUNTY_DEFAULT[knr[:2]]
    except KeyError:
        raise ValueError(f"municipality number {knr} is not in the 2020-2023 structure") from None
