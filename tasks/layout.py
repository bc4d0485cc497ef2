"""Where every page and every state artefact lives (pure path arithmetic).

Pages mirror the source tree under the output folder, in the old system's layout:

    <rel>_docs.md, <rel>_kw.md          per source file
    <dir>/index.md, doc.md, sub.md      per folder (sub-<letter>.md when the index is split)
    index.md, keywords.md, comprehensive_book.md, docgraph.json    at the output root

A source *folder* whose name could collide with a page of its parent (`index.md/`, `x_docs.md/`,
`keywords.md/` at the top, ...) gets `.dir` appended to its output folder; so does every folder
whose name already ends in `.dir`, which keeps the mapping one-to-one.  Source files never collide:
their pages always end in `_docs.md` / `_kw.md`.

State artefacts are keyed by a hash of the source path, so no source name (however odd) can clash
with another in the state folder.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

DOCS_SUFFIX = "_docs.md"
KW_SUFFIX = "_kw.md"
FOLDER_INDEX = "index.md"
FOLDER_DOC = "doc.md"
FOLDER_SUB = "sub.md"
KEYWORDS = "keywords.md"
BOOK = "comprehensive_book.md"
MAP = "docgraph.json"

_RESERVED_FOLDER = re.compile(r"^(index|doc|sub)\.md$|^sub-[^/]*\.md$|_docs\.md$|_kw\.md$|\.dir$")
_RESERVED_TOP = re.compile(r"^keywords(-[^/]*)?\.md$|^comprehensive_book(-[^/]*)?\.md$|^docgraph(-[^/]*)?\.json$")

BUCKETS = tuple("abcdefghijklmnopqrstuvwxyz") + ("other",)


@lru_cache(maxsize=16384)
def out_folder(folder: str) -> str:
    """Output folder (relative to the output root) of source folder `folder` (`""` is ROOT)."""
    if not folder:
        return ""
    parts = folder.split("/")
    mapped = []
    for depth, name in enumerate(parts):
        if _RESERVED_FOLDER.search(name) or (depth == 0 and _RESERVED_TOP.search(name)):
            name += ".dir"
        mapped.append(name)
    return "/".join(mapped)


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def split(rel: str) -> tuple[str, str]:
    """(folder, name) of a source path."""
    folder, _, name = rel.rpartition("/")
    return folder, name


@lru_cache(maxsize=65536)
def docs_page(rel: str) -> str:
    """The `_docs.md` page of source file `rel`, relative to the output root."""
    folder, name = split(rel)
    return _join(out_folder(folder), name + DOCS_SUFFIX)


def kw_page(rel: str) -> str:
    """The `_kw.md` page of source file `rel`."""
    folder, name = split(rel)
    return _join(out_folder(folder), name + KW_SUFFIX)


def folder_page(folder: str, page: str) -> str:
    """A folder page (`index.md`, `doc.md`, `sub.md`, `sub-a.md`) of source folder `folder`."""
    return _join(out_folder(folder), page)


def sub_letter_page(folder: str, bucket: str) -> str:
    """The letter page of a split `sub.md`."""
    return folder_page(folder, f"sub-{bucket}.md")


def keywords_letter_page(bucket: str) -> str:
    """The letter page of a split `keywords.md`."""
    return f"keywords-{bucket}.md"


def letter_part_page(letter_page: str, number: int) -> str:
    """Part `number` (1-based) of a letter page with more rows than one page holds
    (`keywords-s.md` -> `keywords-s-2.md`, `torch/sub-s.md` -> `torch/sub-s-2.md`)."""
    return f"{letter_page.removesuffix('.md')}-{number}.md"


def book_part_page(number: int) -> str:
    """Part `number` (1-based) of a book too large for one page."""
    return f"comprehensive_book-{number}.md"


def map_part_page(number: int) -> str:
    """Part `number` of a split `docgraph.json`."""
    return f"docgraph-{number}.json"


def bucket_of(name: str) -> str:
    """Index letter of an identifier: its first ASCII letter after leading underscores."""
    stripped = name.lstrip("_")
    first = stripped[:1].lower()
    return first if "a" <= first <= "z" else "other"


def sort_key(name: str) -> tuple[str, str]:
    """Order of identifiers in indices: case-insensitive, leading underscores ignored, stable."""
    return (name.lstrip("_").lower(), name)


def group(key: str) -> str:
    """The group of a folder's ledger (see :mod:`docgraph.graph`), from the folder's state key:
    its first two hex digits, so at most 256 groups at any size."""
    return key[:2]


@lru_cache(maxsize=1 << 16)
def key(rel: str) -> str:
    """Stem for state artefacts of a source path or folder: 96 bits of its SHA-1 (a collision
    among a million paths has a chance of about 1 in 10**17), as `ab/<22 hex digits>`.  Every
    state file name is stored several times (doit's database, the stamp, the manifest): the
    full 160 bits cost 4.8 MB of doit's database on the torch corpus and bought nothing."""
    digest = hashlib.sha1(rel.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{digest[:2]}/{digest[2:24]}"


def link_from_folder(folder: str, to_path: str) -> str:
    """Relative path from a page in `folder` ("" for the root) to `to_path`: the same for every
    page of one folder (the parts of a keyword index link the same files)."""
    if not folder:
        return to_path
    if to_path.startswith(folder) and to_path[len(folder):len(folder) + 1] == "/":
        return to_path[len(folder) + 1:]  # the common case: a page of the same folder or below
    src = folder.split("/")
    dst = to_path.split("/")
    common = 0
    while common < len(src) and common < len(dst) - 1 and src[common] == dst[common]:
        common += 1
    parts = [".."] * (len(src) - common) + dst[common:]
    return "/".join(parts)
