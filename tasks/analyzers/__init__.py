"""Analysis: the bytes of one file -> :class:`docgraph.facts.FileFacts` (pure; no disk access).

One module per language family, all with the signature ``analyze(source: Source) -> FileFacts``,
chosen by the file's language declaration (:mod:`docgraph.languages`); languages with a tags query
share :mod:`.tags`.  Anything else that is text goes to :mod:`.generic`, which claims only what it
measured.  Binary files get facts that say so.

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
from ..languages import display_name, for_path, registry
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


_BY_SPEC: dict[str, Analyzer] = {}


def _analyzer(spec: str) -> Analyzer:
    """The function a language declaration names (`module:function` under this package).

    The modules are imported by name here, not by a computed string, so that the code
    fingerprint of the analysis (which follows imports) covers every analyzer."""
    found = _BY_SPEC.get(spec)
    if found is None:
        from . import (
            build,
            cfamily,
            composer,
            data,
            generic,
            gomod,
            javascript,
            markup,
            python,
            shell,
            tags,
        )

        modules = {m.__name__.rpartition(".")[2]: m for m in (
            build, cfamily, composer, data, generic, gomod, javascript, markup, python, shell, tags)}
        module, _, function = (spec or "generic:analyze").partition(":")
        found = _BY_SPEC[spec] = getattr(modules[module], function)
    return found


def choose(path: str) -> Analyzer:
    """The analyzer for a path, as its language declares (:mod:`docgraph.languages`)."""
    language = for_path(path)
    return _analyzer(language.analyzer if language is not None else "")


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
    from .generic import shebang

    language = registry().for_interpreter(shebang(text))
    return _analyzer(language.analyzer) if language is not None and language.analyzer else fallback


def choose_language(path: str) -> str:
    """Format name of a file from its name (for files with no content to parse)."""
    return display_name(path)
