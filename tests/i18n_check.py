"""Find English on a Norwegian page: words of the English catalogue that the Norwegian one never uses."""

from __future__ import annotations

import html
import json
import re

from siting.messages import MESSAGES

WORD = re.compile(r"[A-Za-zÆØÅæøå]+")


def _words(texts) -> set[str]:
    return {w.lower() for s in texts for w in WORD.findall(re.sub(r"<[^>]+>|\{[^}]*\}", " ", s))}


#: English words of the catalogue that never occur in its Norwegian text (at least 4 letters)
MARKERS = {w for w in _words(v["en"] for v in MESSAGES.values()) - _words(v["nb"] for v in MESSAGES.values()) if len(w) >= 4}


def visible_text(page: str) -> str:
    """The text a reader can see or hear: the HTML without scripts and styles, attribute texts
    (aria-label, title, placeholder, alt), and the strings of the map's JSON payload."""
    data = re.search(r'<script type="application/json" id="siting-data">(.*?)</script>', page, re.S)
    strings = []
    if data:
        def walk(x):
            if isinstance(x, str):
                strings.append(x)
            elif isinstance(x, dict):
                for k, v in x.items():
                    if k not in ("map", "geom", "colors", "kind", "key", "lang", "attribution", "site_id", "whatif"):
                        walk(v)
            elif isinstance(x, list):
                for v in x:
                    walk(v)

        walk(json.loads(data.group(1)))
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    attrs = re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', body)
    text = re.sub(r"<[^>]+>", " ", body)
    return html.unescape(" ".join([text, *attrs, *strings]))


def english_words(page: str, data: list[str] = ()) -> list[str]:
    """English marker words on ``page``, after removing the strings that come from the data
    (``data``: place names, the scenario's description and file, the network's description)."""
    text = visible_text(page)
    for s in sorted((str(d) for d in data if d), key=len, reverse=True):
        text = text.replace(s, " ")
    return sorted({w for w in WORD.findall(text) if w.lower() in MARKERS})
