"""Build files: CMake, Bazel/Starlark, Make and Dockerfiles (hand-written line-based readers)."""

from __future__ import annotations

from . import HASH_COMMENTS, Language, Wording

_WORDING = Wording(top_level="Definitions")

LANGUAGES = (
    Language(name="CMake", suffixes=(".cmake",), filenames=("CMakeLists.txt",), fence="cmake",
             analyzer="build:analyze_cmake", comments=HASH_COMMENTS, imports="path", wording=_WORDING),
    Language(name="Starlark (Bazel)", suffixes=(".bzl",), analyzer="build:analyze_bazel",
             comments=HASH_COMMENTS, imports="path", wording=_WORDING),
    Language(name="Bazel", suffixes=(".bazel",),
             filenames=("BUILD", "BUILD.bazel", "WORKSPACE", "WORKSPACE.bazel", "MODULE.bazel"),
             analyzer="build:analyze_bazel", comments=HASH_COMMENTS, imports="path", wording=_WORDING),
    Language(name="Makefile", suffixes=(".mk",), filenames=("Makefile", "makefile", "GNUmakefile"),
             fence="makefile", analyzer="build:analyze_make", comments=HASH_COMMENTS, imports="path",
             wording=_WORDING),
    Language(name="Dockerfile", suffixes=(".dockerfile",), filenames=("Dockerfile", "Containerfile"),
             prefixes=("Dockerfile",), fence="dockerfile", analyzer="build:analyze_docker",
             comments=HASH_COMMENTS, imports="path", wording=_WORDING),
)
