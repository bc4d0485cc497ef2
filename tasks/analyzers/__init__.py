"""Analysis: the bytes of one file -> :class:`docgraph.facts.FileFacts` (pure; no disk access).

One module per language family, all with the signature ``analyze(source: Source) -> FileFacts``,
chosen from :data:`BY_NAME` (exact file names) and :data:`BY_SUFFIX`.  Anything else that is text
goes to :mod:`.generic`, which claims only what it measured.  Binary files get facts that say so.

Parser failures never escape: an analyzer that raises is a bug in docgraph, but the build still
goes on: the file gets the generic facts plus a finding naming the failure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from .. import credentials
from ..config import AnalysisSettings
from ..facts import FileFacts, Finding, Note
from ..sourcetext import count_lines, decode, is_binary, media_type


@dataclass(frozen=True)
class Source:
    """What an analyzer receives."""

    path: str
    """Path relative to ROOT."""
    data: bytes
    """The file's bytes."""
    text: str
    """The decoded text."""
    encoding: str
    """Codec the text was decoded with."""
    line_count: int
    """Lines of `text`."""
    settings: AnalysisSettings
    """Analysis settings."""

    @property
    def name(self) -> str:
        """File name without folder."""
        return self.path.rpartition("/")[2]

    def facts(self, **fields: object) -> FileFacts:
        """FileFacts with the measured basics filled in."""
        return FileFacts(path=self.path, size=len(self.data), line_count=self.line_count,
                         encoding=self.encoding, **fields)  # type: ignore[arg-type]


Analyzer = Callable[[Source], FileFacts]


def _table() -> tuple[dict[str, Analyzer], dict[str, Analyzer]]:
    from . import build, cfamily, data, generic, javascript, markup, python, shell

    by_suffix: dict[str, Analyzer] = {
        **{suffix: cfamily.analyze for suffix in (
            ".c", ".h", ".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".ipp",
            ".inl", ".tcc", ".cu", ".cuh")},
        **{suffix: javascript.analyze for suffix in (
            ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".cts")},
        ".sh": shell.analyze,
        ".bash": shell.analyze,
        ".cmake": build.analyze_cmake,
        ".bzl": build.analyze_bazel,
        ".bazel": build.analyze_bazel,
        ".mk": build.analyze_make,
        ".dockerfile": build.analyze_docker,
        ".py": python.analyze,
        ".pyi": python.analyze,
        ".pyw": python.analyze,
        ".md": markup.analyze_markdown,
        ".markdown": markup.analyze_markdown,
        ".rst": markup.analyze_rst,
        ".yaml": data.analyze_yaml,
        ".yml": data.analyze_yaml,
        ".json": data.analyze_json,
        ".toml": data.analyze_toml,
    }
    by_name: dict[str, Analyzer] = {
        "CMakeLists.txt": build.analyze_cmake, "BUILD": build.analyze_bazel,
        "BUILD.bazel": build.analyze_bazel, "WORKSPACE": build.analyze_bazel,
        "WORKSPACE.bazel": build.analyze_bazel, "MODULE.bazel": build.analyze_bazel,
        "Makefile": build.analyze_make, "makefile": build.analyze_make,
        "GNUmakefile": build.analyze_make, "Dockerfile": build.analyze_docker,
        "Containerfile": build.analyze_docker,
    }
    return by_name, by_suffix | {"": generic.analyze}


_TABLES: tuple[dict[str, Analyzer], dict[str, Analyzer]] | None = None


def choose(path: str) -> Analyzer:
    """The analyzer for a path: exact file name first, then the longest known suffix."""
    global _TABLES
    if _TABLES is None:
        _TABLES = _table()
    by_name, by_suffix = _TABLES
    name = path.rpartition("/")[2]
    if name in by_name:
        return by_name[name]
    if name.startswith("Dockerfile."):
        return by_name["Dockerfile"]
    lower = name.lower()
    dot = lower.find(".", 1)
    while dot != -1:
        found = by_suffix.get(lower[dot:])
        if found is not None:
            return found
        dot = lower.find(".", dot + 1)
    return by_suffix[""]


def analyze(path: str, data: bytes, settings: AnalysisSettings) -> FileFacts:
    """Analyse one file's bytes."""
    if is_binary(data[:8192]):
        kind = media_type(data[:64])
        suspicious = not choose(path).__module__.endswith(".generic")
        return FileFacts(path=path, language="binary", size=len(data), binary=True,
                         media_type=kind, description=kind,
                         findings=(Finding(path, 0, f"binary content ({kind}) under a source file "
                                                    "name; listed, not analysed"),) if suspicious else ())
    if not data:  # an empty package marker is normal; any other empty source is worth a word
        name = path.rpartition("/")[2]
        marker = name in ("__init__.py", "__init__.pyi", "py.typed", ".gitkeep", ".keep")
        return FileFacts(path=path, language=choose_language(path), size=0, description="empty file",
                         findings=() if marker else (Finding(path, 0, "empty file (0 bytes)"),))
    size = len(data)
    if len(data) > settings.max_bytes:
        head = decode(data[: 64 * 1024])
        return FileFacts(
            path=path, language="text", size=len(data), encoding=head.encoding,
            skipped=f"larger than analysis.max_bytes ({settings.max_bytes:,} bytes)",
            description=f"{len(data):,} bytes, not analysed (over the configured size limit)",
            findings=(Finding(path, 0, f"{len(data):,} bytes exceeds analysis.max_bytes "
                                       f"({settings.max_bytes:,}); listed but not parsed"),),
        )
    decoded = decode(data)
    text = decoded.text
    found = credentials.find(text)
    if found:  # the analyzers never see a credential, so no fact can carry one
        text = credentials.mask(text, found)
        data = text.encode("utf-8", "surrogatepass")
    source = Source(path, data, text, decoded.encoding, count_lines(text), settings)
    extra: list[Finding] = [Finding(path, c.line, f"{c.kind} found; it is never shown in the pages")
                            for c in found]
    if decoded.replaced:
        extra.append(Finding(path, 0, f"{decoded.replaced} byte(s) are not valid {decoded.encoding}"
                                      " and are shown as U+FFFD"))
    elif decoded.how == "detected":
        extra.append(Finding(path, 0, f"not UTF-8; decoded as {decoded.encoding} (detected)"))
    analyzer = choose(path)
    if analyzer.__module__.endswith(".generic") and decoded.text.startswith("#!"):
        analyzer = _by_interpreter(decoded.text, analyzer)
    try:
        facts = analyzer(source)
    except RecursionError:
        from . import generic

        facts = generic.analyze(source)
        extra.append(Finding(path, 0, "nesting too deep for the parser; analysed as plain text"))
    if found:
        notes = tuple(Note("security", f"{c.kind} (value not shown)", c.line, "") for c in found)
        facts = dataclasses.replace(facts, notes=facts.notes + notes, size=size, redacted=len(found))
    if extra:
        facts = dataclasses.replace(facts, findings=tuple(extra) + facts.findings)
    return facts


def _by_interpreter(text: str, fallback: Analyzer) -> Analyzer:
    """An extension-less script goes to the analyzer of the interpreter its `#!` line names."""
    from . import python, shell
    from .generic import shebang

    program = shebang(text)
    if program.startswith("python"):
        return python.analyze
    if program in ("sh", "bash", "dash", "ksh", "zsh"):
        return shell.analyze
    return fallback


def choose_language(path: str) -> str:
    """Format name of a file from its name (for files with no content to parse)."""
    from .generic import language_of

    name = path.rpartition("/")[2]
    if name.endswith((".py", ".pyi")):
        return "Python"
    return language_of(name)
