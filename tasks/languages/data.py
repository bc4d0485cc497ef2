"""Data files: YAML, JSON, TOML and INI, read by their own parsers (`yaml.safe_load`, `json`,
`tomllib`, `configparser`)."""

from __future__ import annotations

from . import HASH_COMMENTS, Language, Wording

_WORDING = Wording(top_level="Keys")

LANGUAGES = (
    Language(name="YAML", suffixes=(".yaml", ".yml"), fence="yaml", analyzer="data:analyze_yaml",
             comments=HASH_COMMENTS, wording=_WORDING),
    Language(name="JSON", suffixes=(".json",), fence="json", analyzer="data:analyze_json",
             wording=_WORDING),
    Language(name="TOML", suffixes=(".toml",), fence="toml", analyzer="data:analyze_toml",
             comments=HASH_COMMENTS, wording=_WORDING),
    Language(name="INI configuration", suffixes=(".cfg", ".ini"), fence="ini",
             analyzer="data:analyze_ini", comments=("#", ";"), wording=_WORDING),
)
