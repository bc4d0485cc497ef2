"""Table-driven tests of the pure helpers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docgraph import layout
from docgraph.analyzers import analyze, choose
from docgraph.config import load
from docgraph.discover import discover
from docgraph.errors import ConfigError, StateDamaged
from docgraph.facts import FileFacts, SummaryImport, dumps, loads
from docgraph.pages.markdown import code, fence, href, text
from docgraph.sourcetext import decode, is_binary
from docgraph.xref import Resolver

SETTINGS = load(str(Path(__file__).parent)).analysis


@pytest.mark.parametrize("value, expected", [
    ("plain", "plain"),
    ("a_b*c", "a\\_b\\*c"),
    ("[x](y)", "\\[x\\]\\(y\\)"),
    ("<script>", "&lt;script&gt;"),
    ("a|b", "a&#124;b"),
    ("a~b&c", "a&#126;b&amp;c"),
    ("see https://x.org/a_b.", "see <https://x.org/a_b>."),
    ("1. item", "1\\. item"),
    ("- dash", "\\- dash"),
    ("line\nbreak", "line\\\\nbreak"),
])
def test_text_escapes_markdown_and_html(value: str, expected: str) -> None:
    assert text(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("name", "`name`"),
    ("a`b", "`` a`b ``"),
    ("``x``", "``` ``x`` ```"),
    ("", "` `"),
    ("new\nline", "`new\\nline`"),
])
def test_code_span_survives_backticks(value: str, expected: str) -> None:
    assert code(value) == expected


def test_fence_is_longer_than_any_backtick_run() -> None:
    block = fence("a\n````\nb\n", "md")
    assert block.startswith("`````md\n") and block.endswith("\n`````")


@pytest.mark.parametrize("path, expected", [
    ("a/b.py", "a/b.py"),
    ("a b/c#d.py", "a%20b/c%23d.py"),
    ("naïve.py", "na%C3%AFve.py"),
    ("x(1).md", "x%281%29.md"),
])
def test_href_percent_encodes(path: str, expected: str) -> None:
    assert href(path) == expected


@pytest.mark.parametrize("folder, expected", [
    ("", ""),
    ("src/pkg", "src/pkg"),
    ("index.md", "index.md.dir"),
    ("a/sub.md", "a/sub.md.dir"),
    ("a/x_docs.md", "a/x_docs.md.dir"),
    ("keywords.md", "keywords.md.dir"),
    ("a/keywords.md", "a/keywords.md"),
    ("build.dir", "build.dir.dir"),
])
def test_folder_names_never_collide_with_pages(folder: str, expected: str) -> None:
    assert layout.out_folder(folder) == expected


def test_pages_of_a_file() -> None:
    assert layout.docs_page("index.md/x.py") == "index.md.dir/x.py_docs.md"
    assert layout.kw_page("README") == "README_kw.md"


@pytest.mark.parametrize("name, bucket", [
    ("Alpha", "a"), ("_private", "p"), ("__init__", "i"), ("9lives", "other"), ("é", "other"),
])
def test_index_letters(name: str, bucket: str) -> None:
    assert layout.bucket_of(name) == bucket


@pytest.mark.parametrize("data, encoding, replaced", [
    ("héllo".encode(), "utf-8", 0),
    (b"\xef\xbb\xbfbom", "utf-8-sig", 0),
    ("hé".encode("utf-16"), "utf-16", 0),
    ("# -*- coding: latin-1 -*-\nx = 'é'\n".encode("latin-1"), "iso8859-1", 0),
])
def test_decoding_names_the_codec(data: bytes, encoding: str, replaced: int) -> None:
    result = decode(data)
    assert (result.encoding, result.replaced) == (encoding, replaced)


def test_legacy_text_is_detected_not_dropped() -> None:
    sentence = "Съешь же ещё этих мягких французских булок, да выпей чаю. " * 3
    result = decode(sentence.encode("koi8-r"))
    assert result.text == sentence
    assert result.how == "detected"


def test_binary_sniffing() -> None:
    assert is_binary(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert not is_binary("hé".encode("utf-16"))
    assert not is_binary(b"plain text")


def test_facts_round_trip_through_canonical_json() -> None:
    facts = analyze("m.py", b'"""Doc."""\nimport os\n\ndef f(a, b=1):\n    return a\n', SETTINGS)
    assert loads(FileFacts, dumps(facts)) == facts
    assert dumps(facts) == dumps(loads(FileFacts, dumps(facts)))


@pytest.mark.parametrize("path, module", [
    ("a/b.py", "python"), ("a/b.h", "cfamily"), ("x.cu", "cfamily"), ("README.md", "markup"),
    ("docs/x.rst", "markup"), ("c.yaml", "data"), ("pyproject.toml", "data"), ("LICENSE", "generic"),
])
def test_analyzer_table(path: str, module: str) -> None:
    assert choose(path).__module__.endswith(module)


PY_CASES = [
    ("model.eval()\n", []),
    ("eval('1')\n", ["`eval` call"]),
    ("import pickle as pk\npk.loads(b'')\n", ["`pickle` deserialisation (runs code from the data)"]),
    ("import torch\ntorch.load('x')\n", ["`torch.load` without `weights_only=True` (unpickles)"]),
    ("import torch\ntorch.load('x', weights_only=True)\n", []),
    ("import subprocess\nsubprocess.run('ls', shell=True)\n", ["subprocess with `shell=True`"]),
    ("import yaml\nyaml.load(s, Loader=yaml.SafeLoader)\n", []),
    ("import yaml\nyaml.load(s)\n", ["`yaml.load` without a safe loader"]),
    ("password = 'hunter2hunter2'\n", ["value assigned to `password` (value not shown)"]),
    ("password = ''\n", []),
]


@pytest.mark.parametrize("source, topics", PY_CASES)
def test_python_security_notes_come_from_resolved_calls(source: str, topics: list[str]) -> None:
    facts = analyze("m.py", source.encode(), SETTINGS)
    assert [n.topic for n in facts.notes if n.category == "security"] == topics


def test_python_tests_are_recognised_from_syntax_not_substrings() -> None:
    plain = analyze("helpers.py", b"def test_helper():\n    'import pytest'\n", SETTINGS)
    assert plain.tests == ()  # pytest would not collect it from this file name
    collected = analyze("test_x.py", b"def test_one():\n    pass\n", SETTINGS)
    assert collected.tests == ("test_one",)
    unit = analyze("checks.py", b"import unittest\nclass T(unittest.TestCase):\n    def test_a(self): pass\n", SETTINGS)
    assert unit.tests == ("T", "T.test_a")


def test_python_syntax_error_still_yields_definitions() -> None:
    facts = analyze("bad.py", b"def ok():\n    pass\n\ndef broken(:\n    pass\n\nclass Kept:\n    pass\n", SETTINGS)
    assert not facts.parsed
    assert {"ok", "Kept"} <= {s.name for s in facts.symbols}
    assert facts.findings and "does not parse" in facts.findings[0].message


def test_python_deep_nesting_is_a_finding_not_a_crash() -> None:
    source = b"x = " + b"(" * 2000 + b"1" + b")" * 2000 + b"\n"
    facts = analyze("deep.py", source, SETTINGS)
    assert not facts.parsed
    assert facts.findings


def test_cpp_export_macros_are_not_class_names() -> None:
    source = b"class TORCH_API Tensor : public Base {\n public:\n  int dim() const;\n};\nTORCH_API void f(int x);\n"
    facts = analyze("t.h", source, SETTINGS)
    names = {(s.kind, s.qualname) for s in facts.symbols}
    assert ("class", "Tensor") in names
    assert ("function declaration", "f") in names
    assert not any(s.name == "TORCH_API" for s in facts.symbols)


def test_python_resolution_with_src_layout_and_relative_imports() -> None:
    resolver = Resolver(["src/pkg/__init__.py", "src/pkg/core.py", "src/pkg/sub/__init__.py",
                         "src/pkg/sub/util.py", "tests/test_core.py", "scripts/tool.py",
                         "scripts/helper.py"])
    edges, missing = resolver.resolve("tests/test_core.py", [SummaryImport("pkg.core", "import")])
    assert [e.dst for e in edges] == ["src/pkg/core.py"]
    edges, _ = resolver.resolve("src/pkg/sub/util.py", [SummaryImport("core", "from", ("x",), 2)])
    assert [e.dst for e in edges] == ["src/pkg/core.py"]
    edges, _ = resolver.resolve("src/pkg/core.py", [SummaryImport("pkg", "from", ("sub",))])
    assert [e.dst for e in edges] == ["src/pkg/sub/__init__.py"]
    edges, _ = resolver.resolve("scripts/tool.py", [SummaryImport("helper", "import")])
    assert [e.dst for e in edges] == ["scripts/helper.py"]
    _, missing = resolver.resolve("scripts/tool.py", [SummaryImport("numpy.linalg", "import")])
    assert missing == [("numpy.linalg", "import")]


def test_include_resolution_relative_then_roots_then_unique_suffix() -> None:
    resolver = Resolver(["lib/a.h", "lib/b.h", "include/geo/point.h", "x/util.h", "y/util.h"],
                        include_roots=["include"])
    assert resolver.resolve_include("lib/b.h", "a.h") == "lib/a.h"
    assert resolver.resolve_include("src/m.cpp", "geo/point.h") == "include/geo/point.h"
    assert resolver.resolve_include("src/m.cpp", "util.h") is None  # two candidates: not guessed


@pytest.mark.parametrize("yaml_text, message", [
    ("output: [1]\n", "'output' must be a str"),
    ("bogus: 1\n", "unknown setting 'bogus'"),
    ("pages:\n  index_split: 0\n", "greater than 0"),
    ("pages: [\n", "not valid YAML"),
])
def test_config_errors_are_one_line(tmp_path: Path, yaml_text: str, message: str) -> None:
    (tmp_path / "docgraph.yaml").write_text(yaml_text)
    with pytest.raises(ConfigError, match=message) as info:
        load(str(tmp_path))
    assert "\n" not in str(info.value)


def test_discovery_honours_nested_gitignore_and_secrets(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / ".gitignore").write_text("*.log\n")
    (tmp_path / "a" / ".gitignore").write_text("!keep.log\nskip/\n")
    (tmp_path / "a" / "keep.log").write_text("x")
    (tmp_path / "a" / "drop.log").write_text("x")
    (tmp_path / "a" / "skip").mkdir()
    (tmp_path / "a" / "skip" / "f.py").write_text("x")
    (tmp_path / ".env").write_text("TOKEN=1")
    (tmp_path / "repo-docs").mkdir()
    (tmp_path / "repo-docs" / "old_docs.md").write_text("x")
    found = {e.rel: e.kind for e in discover(load(str(tmp_path))).entries}
    assert found == {".gitignore": "file", "a/.gitignore": "file", "a/keep.log": "file",
                     ".env": "secret"}


def test_map_partition_keeps_folders_together() -> None:
    from docgraph.pages.repo_map import partition

    paths = [f"a/x{i}.py" for i in range(3)] + [f"b/c/y{i}.py" for i in range(4)] + ["top.py"]
    parts = partition(paths, limit=4)
    assert [folder for folder, _ in parts] == ["", "b"]  # top.py and a/ share a part
    assert sorted(p for _, files in parts for p in files) == sorted(paths)
    assert all(len(files) <= 4 for _, files in parts)


def test_task_count_matches_the_graph(sample: Path) -> None:
    from docgraph.graph import Graph

    config = load(str(sample))
    graph = Graph(config, discover(config))
    counted = graph.task_count()
    assert counted == len(graph.specs)


def test_in_place_write_of_a_state_file_replaces_a_dangling_link(tmp_path: Path) -> None:
    from docgraph.store import write_if_changed

    target = tmp_path / "state" / "facts" / "ab" / "cd.json"
    target.parent.mkdir(parents=True)
    target.symlink_to(tmp_path / "nowhere")
    assert write_if_changed(str(target), b"{}\n", atomic=False)
    assert not target.is_symlink() and target.read_bytes() == b"{}\n"
    assert not write_if_changed(str(target), b"{}\n", atomic=False)  # same bytes: nothing written
    fresh = tmp_path / "state" / "new" / "x.json"  # missing folders are made
    assert write_if_changed(str(fresh), b"1\n", atomic=False) and fresh.read_bytes() == b"1\n"


_MEMBERS_PY = b'''
class App:
    def run(self): ...
    def _helper(self): ...
    def __init__(self): ...
    @property
    def config(self): ...
    class Inner:
        def go(self): ...

def _private(): ...

def test_thing():
    class Namespace:
        def add(self): ...
'''
_MEMBERS_CPP = b"""
class Widget {
 public:
  Widget();
  void resize(int n);
  Widget &operator=(const Widget &);
  ~Widget();
};
"""


@pytest.mark.parametrize("path, data, listed", [
    ("app.py", _MEMBERS_PY, ["App", "App.run", "App.config", "App.Inner.go", "test_thing"]),
    ("widget.h", _MEMBERS_CPP, ["Widget", "Widget::resize"]),
])
def test_keyword_indices_list_public_members_as_class_method(path: str, data: bytes,
                                                             listed: list[str]) -> None:
    """Members reach the summary (and so the keyword indices) as `Class.method`; private ones,
    dunders, constructors, operators and members of a class local to a function body do not."""
    summary = analyze(path, data, load(str(Path(__file__).parent)).analysis).summary()
    names = [s.qualname or s.name for s in summary.symbols]
    assert [n for n in names if n in listed or "." in n or "::" in n] == listed
    assert all(not s.qualname for s in summary.symbols if s.kind in ("class", "function"))


def test_cpp_macro_calls_above_declarations_keep_the_class_whole() -> None:
    """A macro call alone on its line (an attribute, a namespace opener) is blanked like an export
    macro, so the class around it still parses and its members stay its members."""
    data = (b"NS_BEGIN(detail)\n"
            b"class handle : public api<handle> {\n"
            b"public:\n"
            b"    handle() = default;\n"
            b"    MY_DEPRECATED(\"Use (x)() instead\")\n"
            b"    bool check() const { return true; }\n"
            b"    // NOLINTNEXTLINE(readability-x) // PR #3263\n"
            b"    char *ptr() const;\n"
            b"};\n"
            b"NS_END(detail)\n")
    facts = analyze("include/h.h", data, load(str(Path(__file__).parent)).analysis)
    kinds = {s.qualname: s.kind for s in facts.symbols}
    assert kinds.get("handle::check") == "method" and kinds.get("handle::handle") == "constructor"
    assert next(s for s in facts.symbols if s.qualname == "handle::ptr").doc == ""
    topics = {(n.subject, n.topic) for n in facts.notes}
    assert ("MY_DEPRECATED", "declaration macro") in topics
    assert not any("detail" in subject for subject, _ in topics)  # an argument is no macro


@pytest.mark.parametrize("name, shown", [
    ("Flask.run", "Flask.run"),
    ("vectorize_helper<Func, Return, Args...>::apply_broadcast_for_each", "vectorize_helper<…>::apply_broadcast_for_each"),
    ("copyable_holder_caster<type, std::shared_ptr<type>, enable_if_t<f<type>::value>>::check", "copyable_holder_caster<…>::check"),
    ("call_guard<T, Ts...>", "call_guard<T, Ts...>"),  # short enough to show whole
])
def test_keyword_index_shortens_long_template_arguments(name: str, shown: str) -> None:
    from docgraph.pages.keyword_index import _short

    assert _short(name) == shown


def test_cpp_specialization_names_are_one_line() -> None:
    data = b"template <>\nstruct caster<\n    int,\n    long> {\n  void cast();\n};\n"
    facts = analyze("c.h", data, load(str(Path(__file__).parent)).analysis)
    assert [s.qualname for s in facts.symbols] == ["caster<int, long>", "caster<int, long>::cast"]


def test_prune_empty_dirs_removes_nested_folders_whatever_the_name_order(tmp_path: Path) -> None:
    from docgraph.store import prune_empty_dirs

    files = [tmp_path / "a/b/z.md", tmp_path / "a/b/c/x.md", tmp_path / "keep/k.md"]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    for path in files[:2]:
        path.unlink()
    prune_empty_dirs([str(p) for p in files[:2]], str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]


def test_cpp_template_head_with_comparisons_is_not_glued_to_the_name() -> None:
    """`<` and `>` that compare inside a default argument do not end the template head."""
    from docgraph.pages.file_docs import _declared

    data = (b"template <long long Num, int N = 0,\n"
            b"          bool Enabled = (N < 19) && (Num <= max_value<long long>() / 10)>\n"
            b"struct count_digits {};\n")
    facts = analyze("c.h", data, load(str(Path(__file__).parent)).analysis)
    assert _declared(facts.symbols[0], "cpp") == (
        "template <long long Num, int N = 0, bool Enabled = (N < 19) && "
        "(Num <= max_value<long long>() / 10)> struct count_digits")


def test_packed_records_round_trip_and_refuse_a_foreign_stream() -> None:
    """State files hold records packed (canonical JSON, zlib with the field names as preset
    dictionary): equal records are equal bytes, and a stream packed otherwise is refused, never
    misread."""
    import zlib

    from docgraph.facts import pack, unpack, unpack_plain

    facts = analyze("pkg/mod.py", b'"""Doc."""\n\ndef area(x):\n    return x * x\n', SETTINGS)
    data = pack(facts)
    assert data == pack(unpack(FileFacts, data))
    assert unpack(FileFacts, data) == facts
    assert unpack_plain(pack({"b": [1, "x"], "a": {}})) == {"a": {}, "b": [1, "x"]}
    assert len(data) < len(dumps(facts).encode())
    other = zlib.compressobj(6, zdict=b'"path":"language":')  # another version's dictionary
    with pytest.raises(zlib.error):
        unpack(FileFacts, other.compress(dumps(facts).encode()) + other.flush())
    with pytest.raises(zlib.error):
        unpack(FileFacts, data[:-3])


def test_generated_names_read_line_by_line_equal_the_manifest(tmp_path: Path) -> None:
    import json

    from docgraph.store import MANIFEST, generated_names, read_manifest, write_manifest

    names = ["a/b_docs.md", 'odd "quoted",name_docs.md', "ünï/cödé.md", "trailing,", "x\\y", "], }"]
    write_manifest(str(tmp_path), names)
    assert generated_names(str(tmp_path)) == set(read_manifest(str(tmp_path))) == set(names)
    write_manifest(str(tmp_path), [])
    assert generated_names(str(tmp_path)) == set()
    (tmp_path / MANIFEST).write_text(json.dumps({"files": names}))  # one line: parsed whole
    assert generated_names(str(tmp_path)) == set(names)
    (tmp_path / MANIFEST).unlink()
    assert generated_names(str(tmp_path)) == set()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), max_size=30),
       st.lists(st.text(min_size=1, max_size=12), max_size=30), st.integers(1, 5))
def test_the_manifest_written_in_chunks_is_the_json_of_its_names(first: list[str], second: list[str],
                                                               chunk: int) -> None:
    """The manifest is written a few names at a time (any chunk size gives the bytes of the
    whole JSON, `indent=0`); it is replaced only when those bytes differ, and what it names is
    read back line by line, names that are not valid UTF-8 (lone surrogates) included."""
    import json
    import os
    import tempfile
    from unittest import mock

    from docgraph import store

    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(store, "MANIFEST_CHUNK", chunk):
        path = os.path.join(tmp, store.MANIFEST)
        for names in (first, second, second):
            store.write_manifest(tmp, names)
            if all(store._encodes(n) for n in names):
                expected = json.dumps({"files": sorted(set(names))}, indent=0, ensure_ascii=False) + "\n"
                assert Path(path).read_bytes() == expected.encode("utf-8")
            assert store.generated_names(tmp) == set(names)
        after = os.stat(path)
        store.write_manifest(tmp, second)  # the same names: the file is left as it is
        assert os.stat(path).st_ino == after.st_ino and os.stat(path).st_mtime_ns == after.st_mtime_ns
        assert not [n for n in os.listdir(tmp) if store.TMP_MARK in n]


FOLDER_PARTS = st.sampled_from(["a", "b", "pkg", "src", "z", "a b", "ä"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.lists(FOLDER_PARTS, max_size=4), st.sampled_from(["utils.py", "utils.pyi",
                                                                                "__init__.py"])),
                min_size=2, max_size=40),
       st.lists(st.lists(FOLDER_PARTS, max_size=5), min_size=1, max_size=8))
def test_the_nearest_of_many_candidates_is_the_one_ranking_finds(files: list[tuple[list[str], str]],
                                                                importers: list[list[str]]) -> None:
    """A module name shared by many files is resolved through a sorted index; it must pick the
    file that ranking every candidate picks (same import root, longest common folder prefix,
    stubs last, path order), for any tree and importer."""
    from unittest import mock

    from docgraph import xref

    paths = sorted({"/".join([*folder, name]) for folder, name in files})
    candidates = [p for p in paths if p.rpartition("/")[2].startswith("utils")]
    if len(candidates) < 2:
        return
    importing = ["/".join([*folder, "main.py"]) for folder in importers]
    resolver = xref.Resolver(paths + importing)
    for importer in importing:
        with mock.patch.object(xref, "NEAREST_SCAN", 10**9):
            ranked = resolver._nearest(importer, candidates)
        with mock.patch.object(xref, "NEAREST_SCAN", 1):
            indexed = resolver._nearest(importer, candidates)
        assert indexed == ranked, (importer, candidates)


def test_a_recorded_entry_is_an_entry() -> None:
    from docgraph.discover import Entry

    made, recorded = Entry("a/b.py", "file", 3, 4), Entry.recorded("a/b.py", "file", 3, 4)
    assert made == recorded and hash(made) == hash(recorded) and repr(made) == repr(recorded)
    assert Entry.recorded("a/b.py", "file", 3, 5) != made


def test_model_targets_and_their_readers_follow_the_layout(sample: Path) -> None:
    """The model's digests are named as each path's state file is, and the reader of each is
    found from its name, whether or not the model's spec was made first (which keys only the
    text files and folders)."""
    from docgraph.graph import Graph

    config = load(str(sample))
    tree = discover(config)
    graph = Graph(config, tree)
    model = graph.spec("model")
    assert model is not None
    text = [e.rel for e in tree.entries if e.kind == "file"]
    expected = [graph.xref_file(r) for r in text] \
        + [graph.name(graph.paths.folder_digest(f)) for f in tree.folders] \
        + [graph.name(graph.paths.subtree_digest(f)) for f in tree.folders]
    assert list(model.targets[:len(expected)]) == expected
    other = Graph(config, tree)  # no model spec: every path keyed
    binary = next(e.rel for e in tree.entries if e.kind == "binary")
    for name in [*expected, graph.name(graph.paths.facts(binary)), graph.name(graph.paths.ledger("src/geometry"))]:
        assert graph.consumers_of(name, "model") == other.consumers_of(name, "model") != []


def test_every_reader_of_a_state_file_is_found_from_its_name(sample: Path) -> None:
    """For every task and every state file it reads, :meth:`Graph.consumers_of` (which the
    engine follows when a build wrote that file) names the task, for a map in one part and in
    several (a folder's files in more than one part too): a reader it missed would be left
    stale."""
    from docgraph.graph import Graph

    for part_files in (0, 3):
        if part_files:
            (sample / "docgraph.yaml").write_text(f"pages:\n  map_part_files: {part_files}\n", encoding="utf-8")
        config = load(str(sample))
        tree = discover(config)
        graph = Graph(config, tree)
        specs = graph.all_specs()
        producers = {t: spec.name for spec in specs for t in spec.targets}
        state = graph.name(config.state) + "/"
        read = 0
        for spec in specs:
            for dep in spec.file_dep:
                if dep.startswith(state) and "/settings/" not in dep:
                    read += 1
                    for by_producer in (producers[dep], ""):
                        assert spec.name in Graph(config, tree).consumers_of(dep, by_producer), (dep, spec.name)
        assert read > 3 * len(tree.entries)
        assert part_files == 0 or len(graph.map_parts) > 2


def test_map_part_of_a_file_found_by_search_or_by_map(sample: Path) -> None:
    """The map part of a file found by searching the parts' lists (the first few asked) is the
    one the map of every file names."""
    from docgraph.graph import PART_SEARCHES, Graph, MapParts

    (sample / "docgraph.yaml").write_text("pages:\n  map_part_files: 3\n", encoding="utf-8")
    config = load(str(sample))
    tree = discover(config)
    graph = Graph(config, tree)
    assert len(graph.map_parts) > 2
    rels = [e.rel for e in tree.entries if e.kind in ("file", "binary")] + ["no/such.py"]
    searched = [graph._map_part_of(rel) for rel in rels[:PART_SEARCHES]]
    mapped = [graph._map_part_of(rel) for rel in rels]
    assert graph._part_of is not None  # past the searches: the map
    assert searched == mapped[:PART_SEARCHES]
    assert len(set(mapped)) > 2 and mapped[-1] == "map:docgraph.json"
    # each part's files and text files (its cross-reference digests) as kept, and loaded back
    parts = graph.map_parts
    listed = [f for number in range(len(parts)) for f in parts.files(number)]
    assert sorted(listed) == sorted(rels[:-1])
    kinds = {e.rel: e.kind for e in tree.entries}
    assert "binary" in kinds.values()
    for number in range(len(parts)):
        assert parts.text_files(number) == [f for f in parts.files(number) if kinds[f] == "file"]
    again = MapParts.from_stored(*parts.stored())
    assert again is not None and [again.files(n) for n in range(len(again))] == \
        [parts.files(n) for n in range(len(parts))]
    assert [again.holding(rel) for rel in rels] == [parts.holding(rel) for rel in rels]


def test_the_model_paths_kept_joined_give_the_keys_owners_and_names_made_from_the_tree(sample: Path) -> None:
    """The model's paths are kept as joined strings: the owner of a digest's key found by a
    search of them is the file or folder whose key it is (and none for a key of no path), the
    names of its inputs and outputs are those made from the tree, and what is kept loads back
    the same (a list of another length loads as nothing)."""
    from docgraph import layout
    from docgraph.graph import Graph, ModelPaths

    config = load(str(sample))
    tree = discover(config)
    found = Graph(config, tree)._model_paths()
    text = [e.rel for e in tree.entries if e.kind == "file"]
    assert found.part("text") == text and found.part("folders") == list(tree.folders)
    assert len(text) > 10 and len(tree.folders) > 3
    for rel in text:
        assert found.owner(layout.key(rel)) == ("file", rel)
    for folder in tree.folders:
        assert found.owner(layout.key(folder)) == ("folder", folder)
    assert found.owner(layout.key("no/such.py")) is None
    assert found.owner(layout.key(text[3])[:-1]) is None  # (a key's prefix is no key)
    targets, deps = found.part("targets"), found.part("deps")
    assert len(targets) == len(text) + 2 * len(tree.folders)
    assert all(t.endswith(layout.key(rel) + ".zz") for t, rel in zip(targets, text, strict=False))
    owning = {e.rel.rpartition("/")[0] for e in tree.entries if e.kind in ("file", "binary")}
    graph = Graph(config, tree)
    assert deps == sorted({graph.name(graph.paths.group(layout.group(layout.key(f)))) for f in owning})
    (head, digest), lists = found.stored()
    again = ModelPaths.from_stored((head, digest), lists)
    assert again is not None and [again.part(n) for n in ("text", "targets", "deps")] == [text, targets, deps]
    assert [again.owner(layout.key(rel)) for rel in text] == [("file", rel) for rel in text]
    assert again.targets_digest == hashlib.sha1("\0".join(targets).encode()).digest()
    assert ModelPaths.from_stored((head, digest), lists[:-1]) is None  # a list short
    miscounted = ModelPaths.from_stored(((*head[:5], head[5] + 1, *head[6:]), digest), lists)
    assert miscounted is not None  # (the counts are checked as each list is read)
    with pytest.raises(StateDamaged):
        miscounted.part("targets")


def test_a_key_is_found_only_where_a_key_starts() -> None:
    """The keys are stored side by side without separators: a probe that matches across two
    keys (the end of one and the start of the next) is no key, and one that is a key further
    on is found there."""
    from docgraph.kept import KEY_LENGTH, ModelPaths

    first, second = "ab/" + "0" * 22, "cd/" + "1" * 22
    straddling = "0" * 10 + "cd/" + "1" * 12
    assert len(first) == len(second) == len(straddling) == KEY_LENGTH == len(layout.key("x"))
    text_keys = [first, second, straddling]
    paths = ModelPaths.of(text_keys=text_keys, text=["a.py", "b/\udcff.py", "c.py"], folder_keys=[],
                          folders=[], deps=[], targets=[], ledgers=[], ledger_groups=[])
    stored = ModelPaths.from_stored(*paths.stored())
    assert stored is not None
    assert [stored.owner(k) for k in text_keys] == [("file", "a.py"), ("file", "b/\udcff.py"), ("file", "c.py")]
    alone = ModelPaths.from_stored(*ModelPaths.of(
        text_keys=[first, second], text=["a.py", "b.py"], folder_keys=[], folders=[], deps=[], targets=[],
        ledgers=[], ledger_groups=[]).stored())
    assert alone is not None and alone.owner(straddling) is None and alone.owner(first[:-1]) is None


def test_first_missing_lists_a_folder_of_many_targets_and_stats_the_few(tmp_path: Path) -> None:
    """The runner's check of a task's many targets: a folder holding many is listed once, a
    folder holding a few has each stat'ed; either way a missing one is found, and None when
    every one is there."""
    from docgraph.runner import LISTED_FROM, first_missing

    many = [str(tmp_path / "many" / f"{n:03}.packed") for n in range(LISTED_FROM + 4)]
    few = [str(tmp_path / "few" / "a.packed"), str(tmp_path / "few" / "b.packed")]
    for path in many + few:
        Path(path).parent.mkdir(exist_ok=True)
        Path(path).write_bytes(b"x")
    assert first_missing(many + few) is None
    Path(many[7]).unlink()
    assert first_missing(many + few) == many[7]
    Path(many[7]).write_bytes(b"x")
    Path(few[1]).unlink()
    assert first_missing(many + few) == few[1]
    assert first_missing([str(tmp_path / "gone" / f"{n}") for n in range(LISTED_FROM)]) is not None


def test_a_folder_found_complete_is_not_listed_again_until_its_mtime_or_names_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The folders of many targets found complete are remembered with their mtime and names:
    the next check stats them and lists none; an entry removed (a new mtime), a name more to
    look for, or a folder whose mtime is too recent to trust is listed again."""
    import os
    import time

    from docgraph import runner
    from docgraph.runner import LISTED_FROM, ListedFolders, first_missing

    folder = tmp_path / "digests"
    folder.mkdir()
    many = [str(folder / f"{n:03}.packed") for n in range(LISTED_FROM + 4)]
    for path in many:
        Path(path).write_bytes(b"x")
    old = time.time() - 60
    os.utime(folder, (old, old))
    record = str(tmp_path / "listed.marshal")
    listed = ListedFolders(record)
    assert first_missing(many, listed) is None
    listed.save()
    real = os.listdir
    lists: list[str] = []
    monkeypatch.setattr(runner.os, "listdir", lambda p: lists.append(p) or real(p))
    assert first_missing(many, ListedFolders(record)) is None and lists == []
    assert first_missing([*many, str(folder / "new.packed")], ListedFolders(record)) == str(folder / "new.packed")
    assert len(lists) == 1
    Path(many[3]).unlink()  # the folder's mtime is now
    assert first_missing(many, ListedFolders(record)) == many[3]
    Path(many[3]).write_bytes(b"x")
    recent = ListedFolders(record)
    assert first_missing(many, recent) is None  # listed: complete, but too recent to remember
    assert recent.folders == {} and len(lists) == 3
    recent.save()
    assert first_missing(many, ListedFolders(record)) is None and len(lists) == 3  # each target checked
    Path(many[5]).unlink()
    assert first_missing(many, ListedFolders(record)) == many[5]
    (tmp_path / "listed.marshal").write_bytes(b"\x00garbage")
    assert first_missing(many, ListedFolders(record)) == many[5]


def test_a_letters_parts_are_cut_by_content_so_a_new_row_changes_about_one() -> None:
    """The parts of a large letter: at most `limit` rows each, at least a quarter of it but the
    last, in order; a row added anywhere changes its own part (rarely a neighbour too), where
    parts cut by position changed every part after it."""
    import random

    from docgraph.digests import KeywordRow
    from docgraph.pages.keyword_index import parts_of

    chance = random.Random(7)
    rows = sorted({KeywordRow(f"s{chance.getrandbits(40):x}", "function", f"pkg/m{i % 37}.py", i)
                   for i in range(3000)}, key=lambda r: (r.name, r.path))
    limit = 50
    parts = parts_of(rows, limit)
    assert [row for part in parts for row in part] == rows
    assert all(len(part) <= limit for part in parts)
    assert all(len(part) >= limit // 4 for part in parts[:-1])
    changed = []
    for at in range(0, len(rows), 7):
        added = KeywordRow(rows[at].name + "0", "function", "pkg/new.py", 1)
        now = parts_of([*rows[:at + 1], added, *rows[at + 1:]], limit)
        changed.append(len({tuple(p) for p in now} - {tuple(p) for p in parts}))
    assert max(changed) <= 5 and sum(changed) / len(changed) < 2


def test_a_letters_rows_are_those_of_every_letter_filtered(tmp_path: Path) -> None:
    """The rows of one letter (with the files importing each name, found by the letter's names
    alone) are exactly the rows of that letter among every letter's, for the repository and
    for each folder."""
    from docgraph.model import Model, open_model

    from .conftest import build, make_sample

    root = make_sample(tmp_path / "repo")
    build(root)
    conn = open_model(str(root / ".docgraph" / "model.sqlite3"))
    try:
        model = Model(conn, str(root / ".docgraph"))
        imported = 0
        for folder in ("", "src", "src/geometry"):
            every = model.digests.keyword_rows(folder)
            imported += sum(len(row.refs) for row in every)
            for bucket in layout.BUCKETS:
                assert model.digests.keyword_rows(folder, bucket) == [
                    row for row in every if layout.bucket_of(row.name) == bucket]
        assert imported  # (the sample's names are imported somewhere)
    finally:
        conn.close()


WORKER_DIES = """
import os, sys
from docgraph.report import Collector
from docgraph.runner import StageRunner
from docgraph.store import FileHashes

runner = StageRunner(os.path.join(sys.argv[1], "doit.sqlite3"), 2, Collector(), FileHashes(sys.argv[1]))
jobs = [(f"t{n:02}", os._exit if n == 7 else os.getpid, (3,) if n == 7 else ()) for n in range(40)]
outcomes = list(runner._execute(jobs, [], frozenset()))
print(len(outcomes), len({name for name, *_ in outcomes}))
print(" ".join(sorted(name for name, error, *_ in outcomes if error)))
print(next(error for name, error, *_ in outcomes if name == "t07"))
"""


def test_a_worker_that_dies_fails_its_tasks_instead_of_hanging_the_build(tmp_path: Path) -> None:
    """A pool worker killed while it runs a task (here it exits; the kernel's OOM killer or a
    signal do the same) fails that task and the ones not run yet, each once; the stage ends.
    (A multiprocessing Pool waits forever for a task whose worker vanished.)"""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", WORKER_DIES, str(tmp_path)], check=False, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    counts, failed, why = done.stdout.splitlines()
    assert counts == "40 40"
    assert "t07" in failed.split()
    assert "worker process ended" in why


def _copy_text(source: str, target: str) -> dict[str, list[str]]:
    with open(source, encoding="utf-8") as handle:
        text = handle.read()
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(text.upper())
    return {"pages": [target]}


def test_the_runner_keeps_few_of_doits_records_and_writes_every_one(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """doit's database keeps every record it reads or writes until it closes (100 MB of parsed
    JSON for the 52,000 tasks of torch4x's pages stage); the runner's holds the records it has
    yet to write, at most FLUSH_EVERY of them, and every record still reaches the database:
    a second run finds every task up to date, a third runs only the task whose input changed."""
    import sqlite3

    from docgraph import runner
    from docgraph.report import Collector
    from docgraph.store import FileHashes

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runner, "FLUSH_EVERY", 4)
    count = 30
    for n in range(count):
        (tmp_path / f"in{n}.txt").write_text(f"text {n}\n", encoding="utf-8")
    jobs = {f"copy:{n}": (_copy_text, (f"in{n}.txt", f"out{n}.txt")) for n in range(count)}
    held: list[int] = []
    original = runner.TaskDB.set

    def counted(self: runner.TaskDB, task_id: str, dependency: str, value: object) -> None:
        original(self, task_id, dependency, value)
        held.append(len(self._cache))

    monkeypatch.setattr(runner.TaskDB, "set", counted)
    db = str(tmp_path / "doit.sqlite3")

    def run() -> Collector:
        collector = Collector()
        tasks = [runner.TaskRecord(name, (args[0],), (args[1],)) for name, (_action, args) in jobs.items()]
        runner.StageRunner(db, 1, collector, FileHashes(str(tmp_path))).run(tasks, jobs, lambda name: 0)
        return collector

    first = run()
    assert len(first.executed) == count and not first.failures
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from doit").fetchone() == (count,)
    assert run().up_to_date == count
    (tmp_path / "in7.txt").write_text("changed\n", encoding="utf-8")
    third = run()
    assert third.executed == ["copy:7"] and third.up_to_date == count - 1
    assert (tmp_path / "out7.txt").read_text(encoding="utf-8") == "CHANGED\n"
    assert held and max(held) <= 4  # (the third run read all 30 records to check them)


def test_the_listing_digest_is_the_last_runs_only_for_the_same_stat_data() -> None:
    """The model takes the listing's digest from its last run's record when the file's stat
    data (old enough to vouch for its bytes) are those recorded with it; otherwise it reads
    and hashes the file."""
    import hashlib

    from docgraph.model import Listing

    raw = b'{"entries": []}'
    reads: list[int] = []

    def read() -> bytes:
        reads.append(1)
        return raw

    assert Listing(read, "15:100").digest_as("15:100", "recorded") == "recorded" and not reads
    for stat, recorded in (("15:101", "recorded"), ("", ""), (None, None)):
        assert Listing(read, "15:100").digest_as(stat, recorded) == hashlib.sha1(raw).hexdigest()
    assert Listing(read, "").digest_as("", "recorded") == hashlib.sha1(raw).hexdigest()  # too recent
    assert len(reads) == 4


_link_segment = st.sampled_from(["a", "b", "ab", "a.b", "sub-a.md", "x y", "é"])


@given(st.lists(_link_segment, max_size=4), st.lists(_link_segment, min_size=1, max_size=5))
def test_a_link_from_a_folder_leads_to_its_target(folder: list[str], target: list[str]) -> None:
    """A page in `folder` reaches `target` by the relative link (every page of a folder shares
    it, so the links are cached by the folder)."""
    import posixpath

    found = layout.link_from_folder("/".join(folder), "/".join(target))
    assert not found.startswith("/") and posixpath.normpath(posixpath.join("/".join(folder), found)) == \
        posixpath.normpath("/".join(target))


def test_read_ahead_asks_for_regular_files_only_and_never_blocks(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The read-ahead of a chunk's inputs asks the kernel for the regular files among them, at
    most READ_AHEAD_LIMIT bytes of each; a FIFO (whose open would wait for a writer), a symbolic
    link, a folder, an empty or missing file are passed over without an error."""
    import os
    import threading

    from docgraph import store

    if not hasattr(os, "posix_fadvise"):
        pytest.skip("no posix_fadvise here")
    asked: list[tuple[str, int, int]] = []
    names_of: dict[int, str] = {}  # open descriptors' files
    real_open = os.open

    def opened(path: str, flags: int, *args: object) -> int:
        fd = real_open(path, flags, *args)
        names_of[fd] = os.path.basename(path)
        return fd

    monkeypatch.setattr(os, "open", opened)
    monkeypatch.setattr(os, "posix_fadvise", 
                        lambda fd, offset, length, advice: asked.append((names_of[fd], offset, length)))
    monkeypatch.setattr(store, "READ_AHEAD_LIMIT", 1000)
    (tmp_path / "small.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "large.h").write_bytes(b"int x;\n" * 1000)
    (tmp_path / "empty.py").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "pipe")
    os.symlink(tmp_path / "small.py", tmp_path / "link.py")
    names = ["small.py", "large.h", "empty.py", "folder", "pipe", "link.py", "missing.py"]
    done = threading.Event()

    def run() -> None:
        store.read_ahead(str(tmp_path / n) for n in names)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(10), "read_ahead blocked"
    assert asked == [("small.py", 0, 6), ("large.h", 0, 1000)]


def test_each_chunk_a_worker_runs_comes_with_its_tasks_inputs(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner hands each chunk of tasks to a worker with the files those tasks depend on,
    each once, and the worker asks for them (read ahead) before it runs the first task."""
    from concurrent.futures import Future

    from docgraph import runner
    from docgraph.report import Collector
    from docgraph.store import FileHashes

    events: list[object] = []

    class InlinePool:  # a pool whose submissions run at once, in this process
        def __init__(self, workers: int, mp_context: object, initializer: object,
                     initargs: tuple[runner.WorkerSetup]) -> None:
            runner._SETUP[:] = list(initargs)

        def submit(self, function: object, *args: object) -> Future[object]:
            done: Future[object] = Future()
            done.set_result(function(*args))  # type: ignore[operator]
            return done

        def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
            runner._SETUP.clear()

    monkeypatch.setattr(runner, "ProcessPoolExecutor", InlinePool)
    monkeypatch.setattr(runner, "read_ahead", lambda paths: events.append(("ahead", list(paths))))
    monkeypatch.setattr(runner, "CHUNK", 3)
    monkeypatch.chdir(tmp_path)
    count = 40
    deps = {f"t{n:02}": (f"src/{n}.py", "settings.json", f"facts/{n}") for n in range(count)}
    jobs = [(name, events.append, (name,)) for name in deps]
    stage = runner.StageRunner(str(tmp_path / "doit.sqlite3"), 2, Collector(), FileHashes(str(tmp_path)))
    outcomes = list(stage._execute(jobs, [], frozenset(), lambda name: deps[name]))
    assert sorted(name for name, error, *_ in outcomes if error is None) == sorted(deps)
    chunks: list[list[str]] = []
    for event in events:
        if isinstance(event, tuple):
            chunks.append([])
            ahead = event[1]
            assert len(ahead) == len(set(ahead))  # each once
        else:
            chunks[-1].append(str(event))
            assert deps[str(event)][0] in ahead and deps[str(event)][2] in ahead  # asked before it ran
    assert sum(len(c) for c in chunks) == count and all(1 <= len(c) <= 3 for c in chunks)


def test_a_model_built_in_bulk_asks_for_each_summary_before_reading_it(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A model rebuilt from every summary (a first build) reads each analysed file's summary
    after it has asked for it (read ahead), a batch ahead of the one it folds in."""
    from docgraph.actions import model as model_action

    from .conftest import build, make_sample

    monkeypatch.setattr("docgraph.model.BULK_BATCH", 3)
    asked: list[str] = []
    read: list[str] = []
    batches: list[int] = []  # summaries read when each batch was asked for
    real_read = model_action.read_bytes

    def ahead(paths: object) -> None:
        batches.append(len(read))
        asked.extend(paths)  # type: ignore[call-overload]

    def reading(path: str) -> bytes | None:
        if "/facts/" in path:
            assert path in asked, f"{path} read before it was asked for"
            read.append(path)
        return real_read(path)

    monkeypatch.setattr(model_action, "read_ahead", ahead)
    monkeypatch.setattr(model_action, "read_bytes", reading)
    root = make_sample(tmp_path / "repo")
    build(root)
    assert read and set(read) <= set(asked) and len(batches) > 2
    assert batches[:2] == [0, 0]  # the first two batches asked for before the first is read
