"""Lists the task graph keeps in the state folder, each part read when a build asks for it.

The graph makes two values from the listing, the settings and the code alone: the model's paths
(its text files and folders with their state keys, its inputs and outputs) and the map's
partition.  It keeps them under the graph's fingerprint (:meth:`docgraph.graph.Graph._kept`), so
that an edit of a function does not hash 50,000 paths again.  At 48,000 sources they hold 11 MB
of names, and an edit asks for a few of them: which group of ledgers a folder is in, whose digest
one of a few hundred files is, which part of the map lists one file.  Read whole, decoded and
checked, they took 18 ms of each edit at torch4x against 4 ms at torch (measured, session 27).
So each list is one part of a file of parts (:class:`docgraph.store.StoredPart`), read when first
asked for, and checked as it is read:

- the state keys (`ab/` and 22 hex digits, :func:`docgraph.layout.key`) are stored side by side
  without separators: a key found at a multiple of their width is found at its index;
- the text files are stored with the end of each, so the file of a key is two reads of a few
  bytes;
- the map's parts are stored one after the other, so the part listing a file is found by one
  search of bytes and the parts' ends.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from .errors import StateDamaged
from .store import StoredPart

KEY_LENGTH = 25
"""Characters of a state key (:func:`docgraph.layout.key`: `ab/` and 22 hex digits)."""

Stored = bytes | StoredPart
"""A list's bytes: as made (in memory), or a part of the kept file, read when first asked for."""


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _decode(data: bytes, source: Stored) -> str:
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise _damaged(source, f"not UTF-8 ({exc.reason})") from None


def _damaged(source: Stored, why: str) -> StateDamaged:
    """A list that does not fit its count or its kind (only a kept file can be damaged)."""
    return source.damaged(why) if isinstance(source, StoredPart) else StateDamaged(why)


def _read(source: Stored, start: int = 0, length: int | None = None) -> bytes:
    """Bytes of a list, or `length` of them from `start` (a stored part checks its bounds; a
    list as made is read where it was made to be read)."""
    if isinstance(source, StoredPart):
        return source.read(start, length)
    return source[start:] if length is None else source[start:start + length]


_PATH_LISTS = ("text_keys", "text", "folder_keys", "folders", "deps", "targets", "ledgers", "ledger_groups")
_KEYS = ("text_keys", "folder_keys")
_ENDS = array("Q").itemsize


@dataclass(frozen=True)
class ModelPaths:
    """What the model's task is made of besides settings: its text files and its folders with
    their state keys (parallel lists), the folders with a ledger and their groups, and the
    names of its inputs (the groups of ledgers) and of its outputs (a digest per text file and
    two per folder).  A list is split into names when first asked for (:meth:`part`); the
    owner of a key is found without splitting any (:meth:`owner`)."""

    counts: tuple[int, ...]
    lists: tuple[Stored, ...]
    """Per name of `_PATH_LISTS` its bytes, then where each text file's name ends (the next
    one starts: one past its NUL), as 64-bit integers."""
    targets_digest: bytes
    """SHA-1 of the outputs' names (NUL-separated): which list of targets the runner checked
    last (:class:`docgraph.runner.ListedFolders`), known without joining 52,000 names."""
    _split: dict[str, list[str]] = field(default_factory=dict, compare=False, repr=False)
    _bytes: dict[int, bytes] = field(default_factory=dict, compare=False, repr=False)

    @staticmethod
    def of(**lists: list[str]) -> ModelPaths:
        blobs: list[bytes] = []
        text = [_encode(t) for t in lists["text"]]
        for name in _PATH_LISTS:
            items = lists[name]
            if name in _KEYS:
                data = "".join(items).encode("ascii")
                if len(data) != KEY_LENGTH * len(items):
                    raise ValueError(f"a state key of {name} is not {KEY_LENGTH} characters")
            else:
                data = b"\0".join(text) if name == "text" else _encode("\0".join(items))
            blobs.append(data)
        ends = array("Q", accumulate(len(t) + 1 for t in text))
        made = ModelPaths(tuple(len(lists[name]) for name in _PATH_LISTS), (*blobs, ends.tobytes()),
                          hashlib.sha1(blobs[_PATH_LISTS.index("targets")]).digest())
        made._split.update(lists)  # (its lists as made: not split again from the bytes)
        return made

    def _raw(self, at: int) -> bytes:
        found = self._bytes.get(at)
        if found is None:
            found = self._bytes[at] = _read(self.lists[at])
        return found

    def part(self, name: str) -> list[str]:
        """One of the lists (`text_keys`, `text`, `folder_keys`, `folders`, `deps`: the names of
        the groups of ledgers, `targets`: the digests' names, the text files', the folders', the
        subtrees', `ledgers`: the folders with files of their own, `ledger_groups`: the group of
        each), split when first asked (:class:`StateDamaged` when it does not fit its count)."""
        found = self._split.get(name)
        if found is None:
            at = _PATH_LISTS.index(name)
            count, data = self.counts[at], self._raw(at)
            if name in _KEYS:
                if len(data) != KEY_LENGTH * count or not data.isascii():
                    raise _damaged(self.lists[at], f"{name}: not {count} keys")
                text = data.decode("ascii")
                found = [text[i:i + KEY_LENGTH] for i in range(0, len(text), KEY_LENGTH)]
            else:
                found = _decode(data, self.lists[at]).split("\0") if count else []
                if len(found) != count:
                    raise _damaged(self.lists[at], f"{name}: {len(found)} names for {count}")
            self._split[name] = found
        return found

    def owner(self, key: str) -> tuple[str, str] | None:
        """("file" | "folder", path) of a state key (of a digest's name): the key searched in
        the keys' bytes, the path read at its index."""
        if len(key) != KEY_LENGTH or not key.isascii():
            return None
        needle = key.encode("ascii")
        for kind, keys, paths in (("file", "text_keys", "text"), ("folder", "folder_keys", "folders")):
            at = _PATH_LISTS.index(keys)
            data = self._raw(at)
            if len(data) != KEY_LENGTH * self.counts[at]:
                raise _damaged(self.lists[at], f"{keys}: not {self.counts[at]} keys")
            found = data.find(needle)
            while found >= 0 and found % KEY_LENGTH:  # (a match across two keys)
                found = data.find(needle, found + 1)
            if found >= 0:
                index = found // KEY_LENGTH
                return kind, self.part(paths)[index] if paths in self._split or kind == "folder" \
                    else self._text_file(index)
        return None

    def _text_file(self, index: int) -> str:
        """The `index`-th text file's name, from where the names after it start (two small
        reads: the names are NUL-separated, and each one's entry is where the next starts)."""
        ends, text = self.lists[len(_PATH_LISTS)], self.lists[_PATH_LISTS.index("text")]
        if index:
            start, after = array("Q", _read(ends, (index - 1) * _ENDS, 2 * _ENDS))
        else:
            start, after = 0, array("Q", _read(ends, 0, _ENDS))[0]
        if not start < after:
            raise _damaged(ends, "the ends of the text files' names are not in order")
        name = _read(text, start, after - 1 - start)
        if b"\0" in name:
            raise _damaged(text, "a text file's name holds a NUL")
        return _decode(name, text)

    def stored(self) -> tuple[Any, list[bytes]]:
        """As kept: a head (the counts and the targets' digest) and one part per list."""
        return (self.counts, self.targets_digest), [self._raw(at) for at in range(len(self.lists))]

    @staticmethod
    def from_stored(head: Any, parts: Sequence[Stored]) -> ModelPaths | None:
        counts, digest = head
        if len(counts) != len(_PATH_LISTS) or len(parts) != len(_PATH_LISTS) + 1 \
                or len(parts[-1]) != _ENDS * counts[_PATH_LISTS.index("text")] or not isinstance(digest, bytes):
            return None
        return ModelPaths(tuple(counts), tuple(parts), digest)


@dataclass(frozen=True)
class MapParts:
    """The folder-aligned parts of `docgraph.json`: each part's first folder and its files.  The
    files of every part are one string of bytes, each part's between NULs, so the part of a
    file is one search (:meth:`holding`), and a part's list is decoded only when a build
    renders that part: the lists of every part took 32 ms to load at 48,000 sources, for an
    edit that renders one part."""

    folders: tuple[str, ...]
    counts: tuple[int, ...]
    ends: tuple[int, ...]
    """Where each part's files end in `files`."""
    text_ends: tuple[int, ...]
    """Where each part's text files (those with a cross-reference digest) end in `text`."""
    files_stored: Stored
    text_stored: Stored
    _bytes: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    @staticmethod
    def of(parts: list[tuple[str, list[str]]], is_text: Callable[[str], bool]) -> MapParts:
        files = [_encode("\0" + "\0".join(names) + "\0") if names else b"" for _folder, names in parts]
        text = [_encode("\0".join(f for f in names if is_text(f))) for _folder, names in parts]
        return MapParts(tuple(folder for folder, _names in parts), tuple(len(names) for _folder, names in parts),
                        tuple(accumulate(len(b) for b in files)), tuple(accumulate(len(b) for b in text)),
                        b"".join(files), b"".join(text))

    def __len__(self) -> int:
        return len(self.folders)

    def _raw(self, which: str) -> bytes:
        found = self._bytes.get(which)
        if found is None:
            found = self._bytes[which] = _read(self.files_stored if which == "files" else self.text_stored)
        return found

    def _slice(self, which: str, number: int) -> bytes:
        ends = self.ends if which == "files" else self.text_ends
        start = ends[number - 1] if number else 0
        stored = self.files_stored if which == "files" else self.text_stored
        return self._bytes[which][start:ends[number]] if which in self._bytes \
            else _read(stored, start, ends[number] - start)

    def files(self, number: int) -> list[str]:
        """The files of part `number` (counted from 0)."""
        if not self.counts[number]:
            return []
        data = self._slice("files", number)
        found = _decode(data[1:-1], self.files_stored).split("\0")
        if len(found) != self.counts[number] or data[:1] != b"\0" or data[-1:] != b"\0":
            raise _damaged(self.files_stored, f"part {number + 1}: not {self.counts[number]} files")
        return found

    def text_files(self, number: int) -> list[str]:
        """The text files of part `number` (a kind asked of each of 1,000 files made an index
        of 48,000 recorded sources: 28 ms)."""
        data = self._slice("text", number)
        return _decode(data, self.text_stored).split("\0") if data else []

    def holding(self, rel: str) -> int | None:
        """The number of the part that lists `rel` (one search of every part's bytes)."""
        at = self._raw("files").find(b"\0" + _encode(rel) + b"\0")
        return None if at < 0 or not rel else bisect_right(self.ends, at)

    def stored(self) -> tuple[Any, list[bytes]]:
        return (self.folders, self.counts, self.ends, self.text_ends), [self._raw("files"), self._raw("text")]

    @staticmethod
    def from_stored(head: Any, parts: Sequence[Stored]) -> MapParts | None:
        folders, counts, ends, text_ends = head
        if not len(folders) == len(counts) == len(ends) == len(text_ends) or len(parts) != 2 \
                or (ends[-1] if ends else 0) != len(parts[0]) or (text_ends[-1] if text_ends else 0) != len(parts[1]) \
                or list(ends) != sorted(ends) or list(text_ends) != sorted(text_ends):
            return None
        return MapParts(tuple(folders), tuple(counts), tuple(ends), tuple(text_ends), parts[0], parts[1])
