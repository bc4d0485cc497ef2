"""Shell scripts: tree-sitter-bash for sh/bash; zsh is named only (no grammar for it)."""

from __future__ import annotations

from . import HASH_COMMENTS, Language, Wording

LANGUAGES = (
    Language(name="shell script", suffixes=(".sh", ".bash"), shebangs=("sh", "bash", "dash", "ksh", "zsh"),
             fence="bash", analyzer="shell:analyze", grammar="bash", grammar_module="tree_sitter_bash:language", comments=HASH_COMMENTS,
             imports="path", wording=Wording(unit="script", top_level="Script-level names",
                                            exports="with `export`")),
    Language(name="zsh script", suffixes=(".zsh",), fence="zsh", comments=HASH_COMMENTS),
)
