"""C, C++ and CUDA: one hand-written tree-sitter analyzer (export macros need blanking first).

Headers get their own display names; `.h` is shared by C and C++.
"""

from __future__ import annotations

from . import C_COMMENTS, Language, Wording

_WORDING = Wording(unit="translation unit", top_level="File-scope names", tests="Test source")


def _c(name: str, suffixes: tuple[str, ...], fence: str, grammar: str) -> Language:
    return Language(name=name, suffixes=suffixes, fence=fence, analyzer="cfamily:analyze",
                    grammar=grammar, grammar_module=f"tree_sitter_{grammar}:language", comments=C_COMMENTS, imports="include", wording=_WORDING)


LANGUAGES = (
    _c("C", (".c",), "c", "c"),
    _c("C/C++ header", (".h",), "cpp", "cpp"),
    _c("C++", (".cc", ".cpp", ".cxx", ".c++"), "cpp", "cpp"),
    _c("C++ header", (".hpp", ".hh", ".hxx", ".h++", ".ipp", ".inl", ".tcc", ".tpp", ".txx"), "cpp", "cpp"),
    _c("CUDA", (".cu",), "cuda", "cuda"),
    _c("CUDA header", (".cuh",), "cuda", "cuda"),
)
