"""Bytes of a source file -> text, with the encoding named; and binary detection.

Order of decisions (pure functions, no I/O):

1. A byte-order mark decides (UTF-8, UTF-16, UTF-32).
2. A NUL byte in the first 8 KiB without such a BOM means binary: no pages, a folder-index row.
3. Valid UTF-8 is UTF-8.
4. A declared encoding (PEP 263 cookie, XML declaration, HTML meta charset) is used when it
   decodes the bytes.
5. Otherwise charset-normalizer (a maintained detector) picks a legacy codec, accepted only when it
   is one source files are really written in (:data:`COMMON_LEGACY`).
6. If nothing decodes cleanly, the text is decoded as UTF-8 with U+FFFD for each bad byte and the
   count is returned, so the page and the build report say so.  Bytes are never dropped silently
   (the old system's `errors='ignore'` turned a KOI8-R sentence into blanks).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

SNIFF_BYTES = 8192

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_DECLARED = (
    re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE),
    re.compile(rb"<\?xml[^>]*encoding=[\"']([-\w.]+)[\"']"),
    re.compile(rb"<meta[^>]*charset=[\"']?([-\w.]+)", re.IGNORECASE),
)

# Leading bytes of common binary formats -> a readable type name.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive (empty)"),
    (b"\x1f\x8b", "gzip data"),
    (b"BZh", "bzip2 data"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"(\xb5/\xfd", "zstd data"),
    (b"\x7fELF", "ELF executable or library"),
    (b"\xcf\xfa\xed\xfe", "Mach-O binary"),
    (b"\xca\xfe\xba\xbe", "Mach-O universal binary or Java class"),
    (b"MZ", "Windows executable"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\x00asm", "WebAssembly module"),
    (b"\x93NUMPY", "NumPy array"),
    (b"\x89HDF\r\n\x1a\n", "HDF5 data"),
    (b"RIFF", "RIFF media"),
    (b"OggS", "Ogg media"),
    (b"fLaC", "FLAC audio"),
    (b"ID3", "MP3 audio"),
    (b"\x00\x00\x01\x00", "icon image"),
    (b"wOFF", "WOFF font"),
    (b"wOF2", "WOFF2 font"),
)


# Detection is trusted only for encodings that source files are really written in; a guess of an
# exotic code page for a few stray bytes in an otherwise ASCII file is mojibake, not a decoding.
COMMON_LEGACY = frozenset(_c for _c in (
    "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
    "iso8859-1", "iso8859-2", "iso8859-5", "iso8859-7", "iso8859-9", "iso8859-15", "koi8-r",
    "koi8-u", "mac-roman", "cp437", "cp850", "cp866", "big5", "big5hkscs", "gb2312", "gbk",
    "gb18030", "shift_jis", "cp932", "euc_jp", "iso2022_jp", "euc_kr", "cp949", "utf-16",
    "utf-16-le", "utf-16-be", "utf-32", "tis-620", "cp874"))


@dataclass(frozen=True)
class SourceText:
    """Decoded text of a file and how it was decoded."""

    text: str
    """The text, newlines as in the file."""
    encoding: str
    """Codec used (`utf-8`, `utf-8-sig`, `utf-16`, `cp1251`, ...)."""
    replaced: int
    """Number of undecodable bytes shown as U+FFFD (0 when the codec decoded everything)."""
    how: str
    """How the codec was chosen: bom, utf-8, declared, detected, fallback."""


def has_bom(head: bytes) -> bool:
    """Whether `head` starts with a Unicode byte-order mark."""
    return any(head.startswith(bom) for bom, _ in _BOMS)


def is_binary(head: bytes) -> bool:
    """Binary unless it carries a BOM: a NUL byte within the first 8 KiB."""
    if has_bom(head):
        return False
    return b"\x00" in head[:SNIFF_BYTES]


def media_type(head: bytes) -> str:
    """A readable type for a binary file from its leading bytes, or `binary data`."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "Python pickle"
    if head[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "UTF-32 text"
    return "binary data"


def _codec(name: bytes | str) -> str | None:
    try:
        text = name.decode("ascii") if isinstance(name, bytes) else name
        return codecs.lookup(text).name
    except (LookupError, UnicodeDecodeError):
        return None


def _declared(data: bytes) -> str | None:
    head = data[:1024]
    # PEP 263: only the first two lines count.
    first_two = b"\n".join(head.split(b"\n", 2)[:2])
    match = _DECLARED[0].search(first_two)
    if match is None:
        for pattern in _DECLARED[1:]:
            match = pattern.search(head)
            if match:
                break
    return _codec(match.group(1)) if match else None


def decode(data: bytes) -> SourceText:
    """Decode a text file's bytes; never raises, never drops bytes silently."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return SourceText(data.decode(name), name, 0, "bom")
            except UnicodeDecodeError:
                text = data.decode(name, errors="replace")
                return SourceText(text, name, text.count("\ufffd"), "bom")
    try:
        return SourceText(data.decode("utf-8"), "utf-8", 0, "utf-8")
    except UnicodeDecodeError:
        pass
    declared = _declared(data)
    if declared and declared != "utf-8":
        try:
            return SourceText(data.decode(declared), declared, 0, "declared")
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes  # imported lazily: rarely needed, slow to import

    best = from_bytes(data).best()
    if best is not None and best.encoding and (_codec(best.encoding) or "") in COMMON_LEGACY:
        name = _codec(best.encoding) or best.encoding
        try:
            return SourceText(data.decode(name), name, 0, "detected")
        except (UnicodeDecodeError, LookupError):
            pass
    text = data.decode("utf-8", errors="replace")
    return SourceText(text, "utf-8", text.count("\ufffd") - data.decode(
        "utf-8", errors="ignore").count("\ufffd"), "fallback")


def count_lines(text: str) -> int:
    """Number of lines as an editor shows them (a final line without newline counts)."""
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)
