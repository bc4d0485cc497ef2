"""Python: read by the hand-written `ast` analyzer (its facts go beyond what a tags query says)."""

from __future__ import annotations

from . import HASH_COMMENTS, Language, Wording

LANGUAGES = (
    Language(
        name="Python", suffixes=(".py", ".pyi", ".pyw"), shebangs=("python", "pypy"),
        fence="python", analyzer="python:analyze", grammar="python", grammar_module="tree_sitter_python:language", comments=HASH_COMMENTS,
        imports="python",
        wording=Wording(unit="module", top_level="Module-level names", exports="in `__all__`",
                        entry_point='Runs as a program: it has an `if __name__ == "__main__":` block.',
                        tests="Test module"),
    ),
)
