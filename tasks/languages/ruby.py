"""Ruby: tree-sitter-ruby's own tags query (its definition patterns) plus constants, accessors
and RSpec examples.

The wheel's reference patterns match every identifier (it leaves locals to a second query); docgraph
keeps only its definitions and finds calls with one narrow pattern of its own.  `#` comments
directly above a definition are its documentation (RDoc).  Ruby sets visibility with statements
(`private` on its own line applies to what follows), not declarations, so none is claimed.
Tests: Minitest `test_*` methods and RSpec `it "..."` examples.  `require_relative` resolves
beside the file, `require` under `lib/` folders.
"""

from __future__ import annotations

from typing import Any

from . import HASH_COMMENTS, Language, Tags, Wording
from ._common import text

_EXTRA = """
(program (assignment left: (constant) @name) @definition.constant)
(body_statement (assignment left: (constant) @name) @definition.constant)
(call method: (identifier) @_it (#eq? @_it "it")
      arguments: (argument_list . (string (string_content) @name))) @definition.test
(call method: (identifier) @name) @reference.call
"""


def _imports(root: Any, path: str) -> list[tuple[str, str, int, tuple[str, ...]]]:
    out: list[tuple[str, str, int, tuple[str, ...]]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.named_children:
            if child.type == "call":
                method = text(child.child_by_field_name("method"))
                arguments = child.child_by_field_name("arguments")
                if method in ("require", "require_relative", "load") and arguments is not None \
                        and arguments.named_children and arguments.named_children[0].type == "string":
                    value = "".join(text(c) for c in arguments.named_children[0].named_children
                                    if c.type == "string_content")
                    if value:
                        out.append((value, method, child.start_point[0] + 1, ()))
            elif child.type in ("module", "class", "body_statement", "if", "unless", "begin", "then"):
                stack.append(child)
    return sorted(out, key=lambda i: i[2])


def _test(path: str, kind: str, annotations: tuple[str, ...], name: str) -> bool:
    return kind == "test" or (kind == "method" and name.startswith("test_"))


LANGUAGES = (
    Language(
        name="Ruby", suffixes=(".rb", ".rake", ".gemspec"), filenames=("Rakefile", "Gemfile"),
        shebangs=("ruby",), fence="ruby", analyzer="tags:analyze", grammar="ruby", grammar_module="tree_sitter_ruby:language",
        comments=HASH_COMMENTS, imports="ruby",
        wording=Wording(unit="source file", top_level="Constants", tests="Test file"),
        tags=Tags(
            package="tree_sitter_ruby", extra=_EXTRA, wheel_references=False,
            kinds={"singleton_method": "singleton method", "singleton_class": "class"},
            containers=frozenset({"class", "module"}),
            doc_comments=lambda t: t.startswith("#") and not t.startswith(("#!", "# frozen_string_literal")),
            test=_test, imports=_imports,
            calls={"eval": ("security", "`eval` call"),
                   "instance_eval": ("security", "`instance_eval` call"),
                   "system": ("security", "`system` call (runs a shell command)"),
                   "exec": ("security", "`exec` call (replaces the process)"),
                   "spawn": ("security", "`spawn` call (runs a program)"),
                   "send": ("pattern", "dynamic dispatch (`send`)"),
                   "define_method": ("pattern", "metaprogramming (`define_method`)"),
                   "method_missing": ("pattern", "metaprogramming (`method_missing`)")},
        ),
    ),
)
