"""JavaScript and TypeScript: one hand-written tree-sitter analyzer (ES modules and `require`)."""

from __future__ import annotations

from . import C_COMMENTS, Language, Wording

_WORDING = Wording(unit="module", top_level="Module-level names", exports="with `export`",
                   tests="Test module")


_MODULES = {"javascript": "tree_sitter_javascript:language",
            "typescript": "tree_sitter_typescript:language_typescript",
            "tsx": "tree_sitter_typescript:language_tsx"}


def _js(name: str, suffixes: tuple[str, ...], fence: str, grammar: str) -> Language:
    return Language(name=name, suffixes=suffixes, fence=fence, analyzer="javascript:analyze",
                    grammar=grammar, grammar_module=_MODULES[grammar], comments=C_COMMENTS, imports="javascript", wording=_WORDING,
                    shebangs=("node",) if name == "JavaScript" else ())


LANGUAGES = (
    _js("JavaScript", (".js", ".mjs", ".cjs"), "javascript", "javascript"),
    _js("TypeScript", (".ts", ".mts", ".cts"), "typescript", "typescript"),
    _js("TypeScript (TSX)", (".tsx",), "tsx", "tsx"),
    _js("JavaScript (JSX)", (".jsx",), "jsx", "javascript"),
)
