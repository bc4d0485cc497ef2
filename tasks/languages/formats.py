"""Formats docgraph names but does not parse: the generic analyzer measures them and says only that.

The display name comes from the file name alone.  `comments` says which line starts are comments,
so that a file's leading comment block (and only that) is read as its description.
"""

from __future__ import annotations

from . import C_COMMENTS, Language


def _named(name: str, *suffixes: str, filenames: tuple[str, ...] = (), fence: str = "",
           comments: tuple[str, ...] | None = None, prose: bool = False) -> Language:
    if comments is None:
        return Language(name=name, suffixes=suffixes, filenames=filenames, fence=fence, prose=prose)
    return Language(name=name, suffixes=suffixes, filenames=filenames, fence=fence,
                    comments=comments, prose=prose)


# A licence is one label in every project, with or without `.txt` (the suffix alone made
# `LICENSE.txt` "text" beside another project's `LICENSE` "licence text"); a `LICENSE.md` or
# `license.rst` is a document its markup analyzer reads.
LICENCE_FILES = tuple(f"{case(stem)}{suffix}" for stem in ("license", "licence", "copying")
                      for case in (str.upper, str.title, str.lower)
                      for suffix in ("", ".txt"))

LANGUAGES = (
    _named("text", ".txt", prose=True),
    _named("licence text", filenames=LICENCE_FILES, prose=True),
    _named("pip requirements", filenames=("requirements.txt",)),
    _named("gitignore rules", filenames=(".gitignore",)),
    _named("gitattributes", filenames=(".gitattributes",)),
    _named("EditorConfig", filenames=(".editorconfig",)),
    _named("template", ".in"),
    _named("Jinja template", ".jinja", ".j2"),
    _named("HTML", ".html", ".htm", fence="html"),
    _named("CSS", ".css", fence="css", comments=C_COMMENTS),
    _named("XML", ".xml", fence="xml"),
    _named("SVG image", ".svg"),
    _named("Protocol Buffers", ".proto", comments=C_COMMENTS),
    _named("Thrift IDL", ".thrift", comments=C_COMMENTS),
    _named("Objective-C", ".m", comments=C_COMMENTS),
    _named("Objective-C++", ".mm", comments=C_COMMENTS),
    _named("Perl", ".pl"),
    _named("Lua", ".lua"),
    _named("R", ".r"),
    _named("SQL", ".sql", fence="sql"),
    _named("CSV", ".csv"),
    _named("TSV", ".tsv"),
    _named("linker script", ".ld"),
    _named("assembly", ".s", ".asm"),
    _named("batch file", ".bat"),
    _named("PowerShell", ".ps1"),
    _named("marker file", ".typed"),
    _named("lock file", ".lock"),
    _named("diff", ".diff"),
    _named("patch", ".patch"),
    _named("log", ".log"),
    _named("Jupyter notebook", ".ipynb"),
    _named("Go checksums", filenames=("go.sum",)),
)
