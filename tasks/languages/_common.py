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


def jvm_subject(path: str, package: str) -> list[tuple[str, str, int, tuple[str, ...]]]:
    """A JUnit-style test file's subject by convention: `src/test/.../FooTest.java` tests `Foo`
    of the same package (same-package classes need no import, so none would link them)."""
    folder, _, base = path.rpartition("/")
    stem = base.rpartition(".")[0]
    if "/src/test/" not in f"/{folder}/" or not stem.endswith(("Test", "Tests")) or not package:
        return []
    subject = stem[:-5] if stem.endswith("Tests") else stem[:-4]
    return [(package, "subject", 1, (subject,))] if subject else []


def named_subject(path: str) -> list[tuple[str, str, int, tuple[str, ...]]]:
    """A test file's subject by its name (`WidgetTests.cs` tests `Widget`), for languages whose
    imports name namespaces or modules rather than files (C#, Swift)."""
    base = path.rpartition("/")[2]
    stem, _, suffix = base.rpartition(".")
    if not stem.endswith(("Test", "Tests")):
        return []
    subject = stem[:-5] if stem.endswith("Tests") else stem[:-4]
    return [(f"{subject}.{suffix}", "subject", 1, ())] if subject else []
