"""Languages: the registry, the tags-query analyzer and cross-references of Go, Rust, Java, Kotlin,
C#, Ruby, PHP and Swift, on the hand-checked fixture `tests/fixtures/polyglot` (one small project
per language, written the way its community writes it).

Golden files: `tests/golden/polyglot/` (facts and pages); regenerate with
`DOCGRAPH_UPDATE_GOLDEN=1 python -m pytest tests/test_languages.py` and read the diff.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from docgraph import languages
from docgraph.analyzers import analyze, choose
from docgraph.analyzers.tags import query
from docgraph.config import load
from docgraph.discover import BINARY, FILE, discover
from docgraph.facts import SummaryImport
from docgraph.xref import Resolver

from .conftest import broken_links, build, make_sample, snapshot
from .golden import GOLDEN, compare_tree, dump_facts

POLYGLOT = Path(__file__).parent / "fixtures" / "polyglot"


@pytest.fixture
def polyglot(tmp_path: Path) -> Path:
    return Path(shutil.copytree(POLYGLOT, tmp_path / "repo"))


# --------------------------------------------------------------------------- registry


@pytest.mark.parametrize(("path", "name", "analyzer"), [
    ("cmd/main.go", "Go", "tags"), ("src/lib.rs", "Rust", "tags"), ("A.java", "Java", "tags"),
    ("build.gradle.kts", "Kotlin", "tags"), ("x/Widget.cs", "C#", "tags"),
    ("lib/a.rb", "Ruby", "tags"), ("Rakefile", "Ruby", "tags"), ("src/Cart.php", "PHP", "tags"),
    ("Sources/P.swift", "Swift", "tags"), ("m.py", "Python", "python"),
    ("a/b.h", "C/C++ header", "cfamily"), ("k.cu", "CUDA", "cfamily"), ("x.inl", "C++ header", "cfamily"),
    ("web/a.tsx", "TypeScript (TSX)", "javascript"), ("a.mts", "TypeScript", "javascript"),
    ("CMakeLists.txt", "CMake", "build"), ("Dockerfile.dev", "Dockerfile", "build"),
    ("docs/a.md", "Markdown", "markup"), ("c.yml", "YAML", "data"), ("go.mod", "Go module file", "gomod"),
    ("notes.txt", "text", "generic"), ("LICENSE", "licence text", "generic"), ("x.unknown", "text", "generic"),
    # one label for a licence in every project, with or without `.txt`; a licence document in
    # Markdown or RST stays a document, a module named `license` stays code
    ("LICENSE.txt", "licence text", "generic"), ("COPYING", "licence text", "generic"),
    ("License.txt", "licence text", "generic"), ("docs/license.rst", "reStructuredText", "markup"),
    ("pkg/license.py", "Python", "python"),
    ("x.tpp", "C++ header", "cfamily"), ("x.ipp", "C++ header", "cfamily"), ("k.cuh", "CUDA header", "cfamily"),
    ("setup.cfg", "INI configuration", "data"), ("tox.ini", "INI configuration", "data"),
])
def test_registry_names_language_and_analyzer(path: str, name: str, analyzer: str) -> None:
    assert languages.display_name(path) == name
    assert choose(path).__module__ == f"docgraph.analyzers.{analyzer}"


def test_registry_declarations_are_consistent() -> None:
    assert [m.__name__.rpartition(".")[2] for m in languages.modules()] == languages.declared_modules()
    registry = languages.registry()
    for language in registry.languages:
        assert all(s.startswith(".") and s == s.lower() for s in language.suffixes), language.name
        if language.tags is not None:  # every tags query compiles against its grammar
            assert language.grammar_module and query(language).pattern_count > 0
    assert registry.for_interpreter("python3.11").name == "Python"
    assert registry.for_interpreter("ruby").name == "Ruby"
    assert registry.for_interpreter("perl") is None


@pytest.mark.parametrize(("language", "wording"), [
    ("Python", "Module-level names"), ("Go", "Package-level names"), ("Rust", "Items"),
    ("JavaScript", "Module-level names"), ("C++", "File-scope names"),
])
def test_page_wording_comes_from_the_language(language: str, wording: str) -> None:
    assert languages.wording(language).top_level == wording
    assert (languages.wording(language).exports == "in `__all__`") == (language == "Python")


@pytest.mark.parametrize(("path", "source", "entry"), [
    ("cmd/main.go", "package main\n\nfunc main() {}\n", True),
    ("lib/lib.go", "package lib\n\nfunc main() {}\n", False),
    ("src/main.rs", "fn main() {}\n", True),
    ("App.java", "public class App { public static void main(String[] args) {} }\n", True),
    ("App.java", "public class App { void main(String[] args) {} }\n", False),
    ("P.cs", "class P { static void Main(string[] a) {} }\n", True),
    ("Main.kt", "fun main() {}\n", True),
])
def test_entry_points_by_language(path: str, source: str, entry: bool) -> None:
    config = load(str(POLYGLOT))
    assert analyze(path, source.encode(), config.analysis).entry_point is entry


# --------------------------------------------------------------------------- golden files


def test_polyglot_facts_match_golden(polyglot: Path) -> None:
    config = load(str(polyglot))
    dumps = {}
    for entry in discover(config).entries:
        if entry.kind in (FILE, BINARY):
            facts = analyze(entry.rel, (polyglot / entry.rel).read_bytes(), config.analysis)
            dumps[entry.rel + ".txt"] = dump_facts(facts).encode("utf-8")
    problems = compare_tree(dumps, GOLDEN / "polyglot" / "facts")
    assert not problems, "\n".join(problems + ["regenerate: DOCGRAPH_UPDATE_GOLDEN=1 pytest tests/test_languages.py"])


def test_polyglot_pages_match_golden(polyglot: Path) -> None:
    build(polyglot)
    problems = compare_tree(snapshot(polyglot / "repo-docs"), GOLDEN / "polyglot" / "pages")
    assert not problems, "\n".join(problems + ["regenerate: DOCGRAPH_UPDATE_GOLDEN=1 pytest tests/test_languages.py"])
    assert broken_links(polyglot / "repo-docs") == []


def test_no_page_states_a_python_idea_about_another_language(polyglot: Path, tmp_path: Path) -> None:
    sample = make_sample(tmp_path / "sample")
    for root in (polyglot, sample):
        build(root)
        config = load(str(root))
        for entry in discover(config).entries:
            if entry.kind != FILE or languages.display_name(entry.rel) == "Python":
                continue
            for suffix in ("_docs.md", "_kw.md"):
                page = (root / "repo-docs" / (entry.rel + suffix)).read_text("utf-8")
                ideas = ["__all__", "__main__", "Test module"]
                if languages.wording(languages.display_name(entry.rel)).unit != "module":
                    ideas.append("Module-level names")  # JavaScript has modules too
                for idea in ideas:
                    assert idea not in page, f"{entry.rel}{suffix}: {idea}"


# --------------------------------------------------------------------------- cross-references


PATHS = [
    "go.mod", "store/store.go", "store/item.go", "store/store_test.go", "cmd/shop/main.go",
    "geo/src/lib.rs", "geo/src/util.rs", "geo/src/shapes/mod.rs", "geo/src/shapes/circle.rs",
    "geo/tests/area.rs",
    "crates/geo-macros/src/lib.rs", "crates/geo-macros/src/parse.rs",
    "j/src/main/java/com/ex/Greeter.java", "j/src/test/java/com/ex/GreeterTest.java",
    "k/src/main/kotlin/com/ex/Palette.kt",
    "php/src/Cart.php", "php/src/Model/User.php", "php/tests/CartTest.php",
    "rb/lib/greeter.rb", "rb/lib/greeter/version.rb", "rb/spec/greeter_spec.rb",
    "cs/Widget.cs", "cs/Tests/WidgetTests.cs",
    "sw/Sources/Geo/Point.swift", "sw/Sources/Geo/Shapes/Line.swift", "sw/Tests/GeoTests/PointTests.swift",
]


@pytest.mark.parametrize(("importer", "module", "expected"), [
    ("cmd/shop/main.go", "example.com/shop/store", ["store/item.go", "store/store.go"]),
    ("cmd/shop/main.go", "example.com/shop", []),                  # ROOT holds no .go file
    ("cmd/shop/main.go", "example.com/other/store", []),           # another module: external
    ("cmd/shop/main.go", "github.com/x/store", []),                # same ending, not ours
])
def test_go_imports_resolve_under_the_module_path(importer: str, module: str,
                                                  expected: list[str]) -> None:
    resolver = Resolver(PATHS, manifests={"go.mod": ("example.com/shop",)})
    edges, external = resolver.resolve(importer, [SummaryImport(module, "import")])
    assert [e.dst for e in edges] == expected
    assert external == ([] if expected else [(module, "import")])


@pytest.mark.parametrize(("module", "names", "expected"), [
    ("Shop", ("Cart",), ["php/src/Cart.php"]),
    ("Shop\\Model", ("User",), ["php/src/Model/User.php"]),
    ("Shop\\Tests", ("CartTest",), ["php/tests/CartTest.php"]),
    ("Vendor\\Model", ("User",), []),        # same ending, another package's namespace
])
def test_php_uses_resolve_through_psr4(module: str, names: tuple[str, ...], expected: list[str]) -> None:
    resolver = Resolver(PATHS, manifests={"php/composer.json": ("Shop\\ src/", "Shop\\Tests\\ tests/")})
    edges, _ = resolver.resolve("php/public/index.php", [SummaryImport(module, "use", names)])
    assert [e.dst for e in edges] == expected


def test_go_imports_without_go_mod_resolve_by_ending() -> None:
    resolver = Resolver([p for p in PATHS if p != "go.mod"])
    edges, _ = resolver.resolve("cmd/shop/main.go", [SummaryImport("github.com/x/store", "import")])
    assert [e.dst for e in edges] == ["store/item.go", "store/store.go"]


@pytest.mark.parametrize(("importer", "module", "kind", "names", "expected"), [
    ("store/store_test.go", "store", "package", (), ["store/item.go", "store/store.go"]),
    ("geo/src/lib.rs", "util", "mod", (), ["geo/src/util.rs"]),
    ("geo/src/lib.rs", "shapes", "mod", (), ["geo/src/shapes/mod.rs"]),
    ("geo/src/shapes/mod.rs", "circle", "mod", (), ["geo/src/shapes/circle.rs"]),
    ("geo/src/shapes/circle.rs", "crate::util", "use", ("square",), ["geo/src/util.rs"]),
    ("geo/src/shapes/circle.rs", "super::super::util", "use", ("square",), ["geo/src/util.rs"]),
    ("geo/src/shapes/circle.rs", "crate", "use", ("Area",), ["geo/src/lib.rs"]),
    ("geo/tests/area.rs", "geo", "use", ("Area",), ["geo/src/lib.rs"]),
    ("geo/tests/area.rs", "serde", "use", ("Serialize",), []),
    ("geo/src/lib.rs", "geo_macros", "use", ("derive",), ["crates/geo-macros/src/lib.rs"]),
    ("geo/src/lib.rs", "geo_macros", "use", (), ["crates/geo-macros/src/lib.rs"]),
    ("geo/src/lib.rs", "geo_macros::parse", "use", ("Input",), ["crates/geo-macros/src/parse.rs"]),
    ("j/src/test/java/com/ex/GreeterTest.java", "com.ex", "subject", ("Greeter",),
     ["j/src/main/java/com/ex/Greeter.java"]),
    ("j/src/test/java/com/ex/GreeterTest.java", "com.ex", "import", ("Palette",),
     ["k/src/main/kotlin/com/ex/Palette.kt"]),
    ("j/src/test/java/com/ex/GreeterTest.java", "java.util", "import", ("List",), []),
    ("php/tests/CartTest.php", "Shop", "use", ("Cart",), ["php/src/Cart.php"]),
    ("php/tests/CartTest.php", "Shop\\Model", "use", ("User",), ["php/src/Model/User.php"]),
    ("rb/lib/greeter.rb", "greeter/version", "require_relative", (), ["rb/lib/greeter/version.rb"]),
    ("rb/spec/greeter_spec.rb", "greeter", "require", (), ["rb/lib/greeter.rb"]),
    ("rb/spec/greeter_spec.rb", "json", "require", (), []),
    ("cs/Tests/WidgetTests.cs", "Shop.Widgets", "using", (), []),
    ("cs/Tests/WidgetTests.cs", "Widget.cs", "subject", (), ["cs/Widget.cs"]),
    ("sw/Tests/GeoTests/PointTests.swift", "Geo", "import", (),
     ["sw/Sources/Geo/Point.swift", "sw/Sources/Geo/Shapes/Line.swift"]),
    ("sw/Tests/GeoTests/PointTests.swift", "XCTest", "import", (), []),
])
def test_references_resolve_by_language(importer: str, module: str, kind: str,
                                        names: tuple[str, ...], expected: list[str]) -> None:
    edges, external = Resolver(PATHS).resolve(importer, [SummaryImport(module, kind, names)])
    assert [e.dst for e in edges] == expected
    if not expected and kind not in ("package", "subject") and not module.startswith("crate"):
        assert external == [(module, kind)]


def test_a_changed_go_module_path_relinks_its_importers(polyglot: Path) -> None:
    build(polyglot)
    page = polyglot / "repo-docs" / "shop" / "cmd" / "shop" / "main.go_docs.md"
    assert "store.go_docs.md" in page.read_text("utf-8")
    (polyglot / "shop" / "go.mod").write_text("module example.com/market\n\ngo 1.21\n")
    build(polyglot)
    assert "store.go_docs.md" not in page.read_text("utf-8")
    (polyglot / "shop" / "go.mod").write_text("module example.com/shop\n\ngo 1.21\n")
    build(polyglot)
    assert "store.go_docs.md" in page.read_text("utf-8")


def test_a_changed_psr4_prefix_relinks_its_users(polyglot: Path) -> None:
    build(polyglot)
    page = polyglot / "repo-docs" / "php" / "tests" / "CartTest.php_docs.md"
    assert "Cart.php_docs.md" in page.read_text("utf-8")
    composer = polyglot / "php" / "composer.json"
    composer.write_text(composer.read_text("utf-8").replace('"src/"', '"lib/"'), encoding="utf-8")
    build(polyglot)
    assert "Cart.php_docs.md" not in page.read_text("utf-8")


def test_an_added_go_file_relinks_its_importers(polyglot: Path) -> None:
    build(polyglot)
    page = polyglot / "repo-docs" / "shop" / "store" / "extra.go_docs.md"
    (polyglot / "shop" / "store" / "extra.go").write_text("package store\n\n// Extra is more.\nfunc Extra() {}\n")
    build(polyglot)
    assert "shop/cmd/shop/main.go" in page.read_text("utf-8")
    (polyglot / "shop" / "store" / "extra.go").unlink()
    build(polyglot)
    assert not page.exists()
    main_page = (polyglot / "repo-docs" / "shop" / "cmd" / "shop" / "main.go_docs.md").read_text("utf-8")
    assert "extra.go" not in main_page
