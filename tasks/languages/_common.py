"""Helpers shared by several language declarations (not a language: the registry skips `_` modules)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MODIFIER_HOLDERS = frozenset({"modifiers", "modifier", "visibility_modifier", "member_modifier",
                              "class_modifier", "function_modifier", "property_modifier"})


def text(node: Any) -> str:
    """Source text of a node ("" for none)."""
    return node.text.decode("utf-8", "replace") if node is not None and node.text else ""


def modifier_visibility(words: frozenset[str]) -> Callable[[Any, str], str]:
    """A visibility rule: the first of `words` among a definition's modifier keywords."""

    def visibility(node: Any, name: str) -> str:
        stack = [c for c in node.children if c.type in MODIFIER_HOLDERS or c.type in words]
        while stack:
            child = stack.pop(0)
            if child.type in words:
                return child.type
            if child.child_count == 0 and text(child) in words:
                return text(child)
            if child.type in MODIFIER_HOLDERS:
                stack = list(child.children) + stack
        return ""

    return visibility


def annotated_test(marks: frozenset[str], prefix: str = "") -> Callable[[str, str, tuple[str, ...], str], bool]:
    """A test rule: a method or function carrying one of `marks` (annotation names without `@`,
    `[`, arguments or package), or named with `prefix` when one is given."""

    def test(path: str, kind: str, annotations: tuple[str, ...], name: str) -> bool:
        if kind not in ("method", "function"):
            return False
        for annotation in annotations:
            bare = annotation.lstrip("@[#").split("(")[0].strip().rstrip("]")
            if bare.rpartition(".")[2] in marks:
                return True
        return bool(prefix) and name.startswith(prefix)

    return test
