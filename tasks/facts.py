"""Records passed between the stages, and their canonical JSON form.

Analyzers produce :class:`FileFacts`; the model stage sees only :class:`FileSummary` (the part of
the facts that other pages show); pages receive both plus the cross-references computed by the
model.  All records are frozen dataclasses.  Their JSON encoding is canonical (sorted keys, no
whitespace, UTF-8) so that an unchanged result is byte-identical and doit's MD5 check cuts off
everything downstream of it.

In the state folder a record is stored *packed* (:func:`pack`): its canonical JSON compressed by
zlib at level 6 with a preset dictionary of the records' field names, deterministic for a given
zlib, so equal records are equal bytes.  Measured on the torch corpus (12k files): facts,
summaries and cross-references take 18.6 MB instead of 93 MB of JSON; compressing them costs
1.1 s of CPU in a full build (level 1 without the dictionary: 0.7 s for 22.4 MB) and reading
them back 0.25 s.  (A zlib that compressed differently would rewrite each file once, then
stop: never a stale page.)  Level 9 saved 0.7 % more than level 6 for 1.3 times the time.
A source's facts and summary share one state file (:func:`pack_analysis`).

Decoding uses the field types of each dataclass, resolved once per class.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import struct
import typing
import zlib
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Finding:
    """A problem with one input file, reported in the build report (never pasted into a page)."""

    path: str
    """Source path relative to ROOT."""
    line: int
    """1-based line the problem refers to, 0 when it concerns the whole file."""
    message: str
    """One sentence saying what is wrong and what docgraph did about it."""


@dataclass(frozen=True)
class Symbol:
    """An identifier the file defines, as a parser saw it."""

    name: str
    """The name as written (unqualified)."""
    qualname: str
    """Dotted path inside the file (`Class.method`); equals `name` at top level."""
    kind: str
    """class, function, method, constant, variable, macro, struct, enum, namespace, ..."""
    line: int
    """1-based line of the definition."""
    end_line: int = 0
    """Last line of the definition (0 when the parser gives none)."""
    signature: str = ""
    """Parameters and return annotation as written, e.g. `(x, *, y=1) -> int`."""
    doc: str = ""
    """First paragraph of the docstring or doc comment attached to it."""
    bases: tuple[str, ...] = ()
    """Base classes as written."""
    decorators: tuple[str, ...] = ()
    """Decorators as written, without `@`."""
    indexed: bool = False
    """Whether the name goes into the repository-wide keyword indices (top-level definitions)."""
    complexity: int = 0
    """Cyclomatic complexity for functions and methods; 0 when not measured."""
    scope: str = ""
    """Enclosing namespace (C++, C#, PHP), empty at file level."""
    visibility: str = ""
    """Visibility as the language states it (`pub`, `public`, `exported`); empty when not stated."""

    @property
    def listed_member(self) -> bool:
        """A type's public method or property: the keyword indices list it as `Class.method`
        beside the top-level definitions, so a reader finds `route` or `App.run`.  Left out:
        names starting with `_` (private by convention, dunders), members the language declares
        private, and C++ operators (`operator()`), which no reader looks up by name."""
        return (self.kind in _MEMBER_KINDS and not self.indexed and self.qualname != self.name
                and not self.name.startswith("_") and self.visibility not in _HIDDEN
                and not _OPERATOR.match(self.name))


_MEMBER_KINDS = frozenset({"method", "property", "singleton method"})
_BODY_KINDS = frozenset({"function", "method", "nested function", "constructor", "destructor",
                         "test", "fixture", "kernel", "singleton method", "property"})


def _index_members(symbols: tuple[Symbol, ...]) -> set[str]:
    """Qualified names of the members the keyword indices list (:attr:`Symbol.listed_member`),
    leaving out the members of a class defined inside a function body (a test's local
    `Namespace.add`), which nothing outside that body can reach."""
    listed = [s.qualname for s in symbols if s.listed_member]
    if not listed:
        return set()
    bodies = {s.qualname for s in symbols if s.kind in _BODY_KINDS}
    return {q for q in listed
            if not any(q[:m.start()] in bodies for m in _SEPARATOR.finditer(q))}
_HIDDEN = frozenset({"private", "fileprivate", "protected", "internal", "unexported"})
_OPERATOR = re.compile(r"operator\b(?!_)")
_SEPARATOR = re.compile(r"\.|::")


@dataclass(frozen=True)
class Import:
    """A reference from this file to another module, header, document or script."""

    module: str
    """Target as written: `os.path`, `ATen/Tensor.h`, `../README.md`, `setup.sh`."""
    kind: str
    """import, from, include, link, source, subdirectory; `entry` for an entry point a project
    manifest declares (a console script's module, package.json `main` or `bin`)."""
    line: int
    """1-based line of the reference."""
    names: tuple[str, ...] = ()
    """Names taken from the target (`from m import a, b`)."""
    level: int = 0
    """Relative import level (leading dots of `from ..m import x`)."""
    system: bool = False
    """`#include <...>` rather than `#include "..."`."""


@dataclass(frozen=True)
class Note:
    """A claim about the code, each backed by the line it comes from."""

    category: str
    """pattern, performance, security or usage."""
    topic: str
    """What was found, as a phrase shared by all notes of its kind (`nested loop`, `eval` call)."""
    line: int
    """1-based line the claim is about."""
    subject: str
    """Where or on what it was found (`Parser.parse`, `module level`)."""


@dataclass(frozen=True)
class Heading:
    """A heading of a Markdown or reStructuredText document."""

    level: int
    """1 for a title, 2 for a section, ..."""
    title: str
    """Heading text without markup."""
    line: int
    """1-based line."""


@dataclass(frozen=True)
class Example:
    """A usage example taken from a docstring (doctest or example block)."""

    owner: str
    """Qualified name of what the docstring documents (empty for the module)."""
    line: int
    """1-based line of the example's first line."""
    code: str
    """The example's code lines."""


@dataclass(frozen=True)
class FileFacts:
    """Everything the analysis knows about one source file."""

    path: str
    """Source path relative to ROOT, POSIX separators."""
    language: str
    """Language or format (`Python`, `Markdown`, `YAML`, `text`, `binary`, ...)."""
    size: int
    """Size in bytes."""
    line_count: int = 0
    """Number of lines of the decoded text (0 for binary files)."""
    encoding: str = ""
    """Codec the text was decoded with (`utf-8`, `utf-16`, `cp1252`, ...); empty for binary files."""
    binary: bool = False
    """The file is not text; it gets no pages of its own, only a row in its folder's index."""
    media_type: str = ""
    """For binary files, the type recognised from its leading bytes."""
    description: str = ""
    """One line for indices: the file's own words (docstring, title) or its measured content."""
    doc: str = ""
    """Leading documentation: module docstring, first paragraph of a document."""
    parsed: bool = True
    """Whether the language's parser accepted the file."""
    parse_error: str = ""
    """What the parser said when it did not accept the file (with its line)."""
    skipped: str = ""
    """Why the content was not analysed at all (e.g. larger than the configured limit)."""
    symbols: tuple[Symbol, ...] = ()
    """Definitions, in source order."""
    imports: tuple[Import, ...] = ()
    """References to other modules and files, in source order."""
    exports: tuple[str, ...] = ()
    """Names the file declares public (`__all__`)."""
    headings: tuple[Heading, ...] = ()
    """Document outline (Markdown, reStructuredText)."""
    keys: tuple[str, ...] = ()
    """Top-level keys of a data file (YAML, JSON, TOML)."""
    notes: tuple[Note, ...] = ()
    """Patterns, performance, security and usage claims, each with its line."""
    examples: tuple[Example, ...] = ()
    """Usage examples from docstrings."""
    tests: tuple[str, ...] = ()
    """Test functions and test classes found by the parser; non-empty marks a test file."""
    own_tests: bool = False
    """The tests test the file itself (Rust's `#[cfg(test)]` modules in a source file), so it is
    not a test file of the files it uses."""
    entry_point: bool = False
    """The file runs as a program (`if __name__ == "__main__":`, a shebang script)."""
    interpreter: str = ""
    """Program named by the file's `#!` line."""
    code_blocks: tuple[str, ...] = ()
    """Languages of a document's fenced code blocks, one entry per block (`` for none given)."""
    findings: tuple[Finding, ...] = ()
    """Problems met while reading or parsing the file."""
    redacted: int = 0
    """Credentials found in the text (masked before analysis, redacted in the embedded source)."""
    title: str = ""
    """A document's title: its first heading, when no prose comes before it."""
    project: str = ""
    """The project name a manifest declares (`[project]` or `[tool.poetry]` name of
    `pyproject.toml`, package.json `name`, setup.cfg `[metadata]` name, CMake `project()`,
    `setup(name=...)` of setup.py)."""

    @property
    def lists_keywords(self) -> bool:
        """Whether its `_kw.md` lists anything: identifiers, headings, keys or imports (a page
        that lists nothing says so in one line and is not linked as if it did)."""
        return bool(self.symbols or self.headings or self.keys or self.imports)

    def summary(self) -> FileSummary:
        """The part of the facts that pages of *other* files and folders show."""
        members = _index_members(self.symbols)
        return FileSummary(
            path=self.path,
            language=self.language,
            description=self.description,
            binary=self.binary,
            media_type=self.media_type,
            size=self.size if self.binary else 0,
            doc=self.doc,
            parsed=self.parsed,
            symbols=tuple(
                SummarySymbol(s.name, s.kind, s.line) if s.indexed else
                SummarySymbol(s.name, s.kind, s.line, s.qualname)
                for s in self.symbols if s.indexed or s.qualname in members
            ),
            imports=tuple(
                SummaryImport(i.module, i.kind, i.names, i.level, i.system) for i in self.imports
            ),
            exports=self.exports,
            is_test=bool(self.tests) and not self.own_tests,
            entry_point=self.entry_point,
            findings=self.findings,
            keywords=self.lists_keywords,
            title=self.title,
            project=self.project,
        )


@dataclass(frozen=True)
class SummarySymbol:
    """An indexed definition as aggregates see it."""

    name: str
    """Name as written."""
    kind: str
    """class, function, macro, ..."""
    line: int
    """1-based line of the definition."""
    qualname: str = ""
    """For a type's member, its name as the language qualifies it (`Flask.run`,
    `cpp_function::name`); empty for a top-level definition."""


@dataclass(frozen=True)
class SummaryImport:
    """A reference to another module or file, without its line (so moving it changes nothing)."""

    module: str
    """Target as written."""
    kind: str
    """import, from, include, link, source, subdirectory."""
    names: tuple[str, ...] = ()
    """Names taken from the target."""
    level: int = 0
    """Relative import level."""
    system: bool = False
    """Angle-bracket include."""


@dataclass(frozen=True)
class FileSummary:
    """What folder pages, keyword indices and other files' pages show about a file.

    A body edit that changes none of these fields leaves the summary byte-identical, so nothing
    downstream of it reruns.
    """

    path: str
    """Source path relative to ROOT."""
    language: str
    """Language or format."""
    description: str
    """One line for indices."""
    binary: bool
    """Binary file (no pages of its own)."""
    media_type: str
    """Recognised type of a binary file."""
    size: int
    """Size of a binary file (0 for text files, whose index rows do not show it)."""
    doc: str
    """Leading documentation (a README's first paragraph feeds its folder's page)."""
    parsed: bool
    """Whether the parser accepted the file."""
    symbols: tuple[SummarySymbol, ...]
    """Indexed definitions: the top-level ones and the types' public members."""
    imports: tuple[SummaryImport, ...]
    """References to other modules and files."""
    exports: tuple[str, ...]
    """Declared public names."""
    is_test: bool
    """The parser found tests in it."""
    entry_point: bool
    """Runs as a program."""
    findings: tuple[Finding, ...] = field(default=())
    """Problems met while reading or parsing it (collected into the build report)."""
    keywords: bool = True
    """Its `_kw.md` lists something (see :attr:`FileFacts.lists_keywords`)."""
    title: str = ""
    """A document's title (the entry page's name when no manifest names the project)."""
    project: str = ""
    """The project name a manifest declares (the entry page's title)."""


# --------------------------------------------------------------------------- canonical JSON


_SCALARS = (str, int, bool, float, type(None))
_MISSING = object()


def _plain_of(tp: Any) -> Any:
    """Encoder for values of declared type `tp` (None: the value is JSON-ready as it is)."""
    if typing.get_origin(tp) is tuple:
        item = _plain_of(typing.get_args(tp)[0])
        if item is None:
            return list
        return lambda values: [item(v) for v in values]
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return lambda value: _encode(tp, value)
    return to_plain  # anything else (dicts, unions): the generic walk


_ENCODERS: dict[type, tuple[tuple[str, Any, Any], ...]] = {}


def _encoder(cls: type) -> tuple[tuple[str, Any, Any], ...]:
    """(field, default, encoder) of a record class, in declaration order."""
    found = _ENCODERS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _ENCODERS[cls] = tuple(
            (f.name, f.default if f.default is not dataclasses.MISSING else _MISSING,
             _plain_of(hints[f.name])) for f in dataclasses.fields(cls))
    return found


def _encode(cls: type, obj: Any) -> dict[str, Any]:
    values = obj.__dict__
    out = {}
    for name, default, encode in _encoder(cls):
        value = values[name]
        if value is default or (default is not _MISSING and value == default):
            continue
        out[name] = encode(value) if encode is not None else value
    return out


def to_plain(obj: Any) -> Any:
    """Turn a record (dataclasses, tuples, dicts, scalars) into JSON-ready values.

    Fields equal to their declared default are left out (decoding restores them), which keeps
    the per-file JSON small.  Records are encoded by a per-class plan built from their type
    hints, so scalar fields cost no call at all.
    """
    cls = obj.__class__
    if cls in _SCALARS:
        return obj
    if cls is tuple or cls is list:
        return [to_plain(v) for v in obj]
    if cls is dict:
        return {str(k): to_plain(v) for k, v in obj.items()}
    if hasattr(cls, "__dataclass_fields__"):
        return _encode(cls, obj)
    return obj


def dumps(obj: Any) -> str:
    """Canonical JSON text of a record: sorted keys, compact, non-ASCII kept, newline-terminated."""
    return json.dumps(to_plain(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


_DECODERS: dict[type, tuple[dict[str, Any], tuple[tuple[str, Any], ...]]] = {}


def _converter(tp: Any) -> Any:
    """A function turning plain JSON data into a value of type `tp` (None when no change needed)."""
    if typing.get_origin(tp) is tuple:
        item = _converter(typing.get_args(tp)[0])
        if item is None:
            return tuple
        return lambda values: tuple([item(v) for v in values])
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return lambda value: from_plain(tp, value)
    return None


def _decoders(cls: type) -> tuple[dict[str, Any], tuple[tuple[str, Any], ...]]:
    """The defaults of a record class, and (field, converter) for the fields whose JSON form
    needs converting (tuples, records)."""
    found = _DECODERS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        fields = dataclasses.fields(cls)
        defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
        if any(f.default_factory is not dataclasses.MISSING for f in fields) \
                or hasattr(cls, "__post_init__"):
            raise TypeError(f"{cls.__name__}: from_plain fills fields directly; "
                            "no default factories or __post_init__")
        names = {f.name for f in fields}
        found = _DECODERS[cls] = (defaults, tuple(
            (name, conv) for name, tp in hints.items()
            if name in names and (conv := _converter(tp)) is not None))
    return found


def from_plain(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a record of type `cls` from :func:`to_plain` output.

    The JSON was written by the same code (its hash is part of the settings every analysis task
    depends on), so its keys are the record's fields; only lists need converting back.  The
    record is filled directly (a frozen dataclass's `__init__` pays one `object.__setattr__`
    per field, which made decoding the largest cost of rendering a page).
    """
    defaults, decoders = _decoders(cls)
    values = dict(defaults)
    values.update(data)
    for name, convert in decoders:
        if name in data:
            values[name] = convert(data[name])
    if len(values) != len(cls.__dataclass_fields__):  # type: ignore[attr-defined]
        missing = set(cls.__dataclass_fields__) - set(values)  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__}: missing or unknown fields {sorted(missing or set(values))}")
    obj = cls.__new__(cls)
    obj.__dict__.update(values)
    return obj


def loads(cls: type[T], text: str | bytes) -> T:
    """Inverse of :func:`dumps` for a record of type `cls`."""
    return from_plain(cls, json.loads(text))


PACK_LEVEL = 6


@functools.cache
def _dictionary() -> bytes:
    """zlib's preset dictionary for packed records: every field name of the records of this
    module, as JSON writes it (`"name":`), sorted.  A small file then starts with its keys
    known: packed facts, summaries and cross-references of the torch corpus take 18.6 MB with
    it, 20.3 MB without (level 6).  Derived from the records, so a new field changes it, and
    the code fingerprint with it: nothing packed with another dictionary is read (zlib would
    refuse it: the dictionary's checksum is in every stream's header)."""
    names = {f.name for record in list(globals().values())
             if isinstance(record, type) and dataclasses.is_dataclass(record)
             for f in dataclasses.fields(record)}
    return "".join(f'"{name}":' for name in sorted(names)).encode("ascii")


def compress(data: bytes) -> bytes:
    """zlib at :data:`PACK_LEVEL` with the records' dictionary (deterministic for a given zlib)."""
    packer = zlib.compressobj(PACK_LEVEL, zdict=_dictionary())
    return packer.compress(data) + packer.flush()


def decompress(data: bytes) -> bytes:
    """Inverse of :func:`compress` (zlib.error on a damaged or foreign stream)."""
    unpacker = zlib.decompressobj(zdict=_dictionary())
    found = unpacker.decompress(data)
    if not unpacker.eof:
        raise zlib.error("truncated packed record")
    return found


def pack(obj: Any) -> bytes:
    """The stored form of a record (or of plain JSON data): :func:`dumps`, compressed."""
    return compress(dumps(obj).encode("utf-8"))


def unpack(cls: type[T], data: bytes) -> T:
    """Inverse of :func:`pack` for a record of type `cls`."""
    return from_plain(cls, json.loads(decompress(data)))


def unpack_plain(data: bytes) -> Any:
    """Inverse of :func:`pack` for plain JSON data."""
    return json.loads(decompress(data))


# --------------------------------------------------------------------------- one source's analysis


_LENGTH = struct.Struct("<I")


def pack_analysis(facts: FileFacts) -> bytes:
    """One source's analysis as its state file holds it: the packed facts, the packed summary,
    then the summary's length in 4 bytes (little-endian).

    One file per source rather than one for each (every file takes a 4 KB block at least: the
    summaries alone took 196 MB on disk for 22 MB of bytes at 48,000 sources).  The summary is a
    slice found from the end, so the ledger hashes it and the model reads it without
    decompressing the facts; the file starts as a zlib stream, as the other packed files do."""
    facts_part, summary_part = pack(facts), pack(facts.summary())
    return facts_part + summary_part + _LENGTH.pack(len(summary_part))


def analysis_parts(data: bytes) -> tuple[bytes, bytes]:
    """(packed facts, packed summary) of a stored analysis (:func:`pack_analysis`); ValueError
    when the bytes cannot be one."""
    if len(data) < _LENGTH.size:
        raise ValueError(f"not an analysis: {len(data)} bytes")
    (length,) = _LENGTH.unpack_from(data, len(data) - _LENGTH.size)
    cut = len(data) - _LENGTH.size - length
    if cut <= 0:
        raise ValueError(f"not an analysis: a summary of {length} bytes in {len(data)}")
    return data[:cut], data[cut:len(data) - _LENGTH.size]


def packed_summary(data: bytes | None) -> bytes | None:
    """The packed summary of a stored analysis, None for none (no file)."""
    return None if data is None else analysis_parts(data)[1]


# --------------------------------------------------------------------------- cross-references


@dataclass(frozen=True)
class Link:
    """A resolved reference between two files of the repository."""

    path: str
    """The other file, relative to ROOT."""
    kind: str
    """import, from, include, link, source, subdirectory."""
    has_page: bool
    """The other file has pages of its own (text files do, binary files do not)."""
    names: tuple[str, ...] = ()
    """Names taken from it, when the reference names them (`from m import a`)."""


@dataclass(frozen=True)
class External:
    """A reference the repository does not satisfy: a third-party module or system header."""

    module: str
    """Target as written."""
    kind: str
    """import, from, include, ..."""


@dataclass(frozen=True)
class FileXref:
    """What one file's pages show about other files; computed by the model stage."""

    path: str
    """The file, relative to ROOT."""
    depends_on: tuple[Link, ...] = ()
    """Repository files it imports, includes or links to."""
    external: tuple[External, ...] = ()
    """References outside the repository."""
    used_by: tuple[Link, ...] = ()
    """Repository files that import, include or link to it."""
    tested_by: tuple[Link, ...] = ()
    """Test files among `used_by`."""
