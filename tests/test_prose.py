"""Source text -> clean prose (docgraph.analyzers.prose): one table per dialect."""

from __future__ import annotations

import pytest

from docgraph.analyzers import prose


@pytest.mark.parametrize(("raw", "expected"), [
    ("Return the area.", "Return the area."),
    ("Use :meth:`Flask.route` to register.", "Use `Flask.route` to register."),
    ("See :class:`~flask.app.Flask`.", "See `Flask`."),
    ("A :ref:`guide <quickstart>` entry.", "A guide entry."),
    ("See :doc:`/testing` and :term:`view function`.", "See testing and view function."),
    ("Pass ``None`` to disable.", "Pass `None` to disable."),
    ("Read `the docs <https://example.com/a_b>`_ first.",
     "Read [the docs](https://example.com/a_b) first."),
    ("The |project|_ tool.", "The project tool."),
    ("Accepts int|str|None.", "Accepts int|str|None."),
    ("Example::", "Example:"),
    ("A **bold** and *emphatic* claim about __init__.", "A bold and emphatic claim about __init__."),
    ("Title\n=====\n\nThe body paragraph.", "The body paragraph."),
    (".. image:: logo.png\n   :align: center\n\nThe real text.", "The real text."),
    (":param x: the value\n:returns: nothing", ""),
    ("Args:\n    x: the value", ""),
    (">>> f(1)\n2\n\nComputes f.", "Computes f."),
    ("Parameters\n----------\nx : int\n\nNothing else.", "Nothing else."),
])
def test_docstring(raw: str, expected: str) -> None:
    assert prose.docstring(raw) == expected


@pytest.mark.parametrize(("lines", "expected"), [
    (["\\brief Adds two numbers."], "Adds two numbers."),
    (["@brief Adds two numbers.", "@param a first", "@param b second"], "Adds two numbers."),
    (["\\rst", "Holds a ``py::object``.", "\\endrst"], "Holds a `py::object`."),
    (["NOLINTNEXTLINE(cppcoreguidelines-macro-usage)"], ""),
    (["Returns \\c true when \\p x is set."], "Returns `true` when `x` is set."),
    (["A std::vector<int> of ids."], "A std::vector<int> of ids."),
    (["@param x only parameters"], ""),
])
def test_doxygen(lines: list[str], expected: str) -> None:
    assert prose.doxygen(lines) == expected


@pytest.mark.parametrize(("lines", "expected"), [
    (['<div align="center"><img src="logo.png"></div>', "", "A web framework."], "A web framework."),
    (["[![CI](https://ci/badge.svg)](https://ci)", "", "Fast, **simple**."], "Fast, simple."),
    (["See [the docs](https://flask.palletsprojects.com/) and [local](docs/x.md)."],
     "See [the docs](https://flask.palletsprojects.com/) and local."),
    (["```bash", "pip install x", "```", "", "After the code."], "After the code."),
    (["Escaped \\_name\\_ &amp; <br> more."], "Escaped _name_ & more."),
    (["- a list item", "", "A paragraph."], "A paragraph."),
    (["<!-- comment -->", "Plain words here."], "Plain words here."),
])
def test_markdown(lines: list[str], expected: str) -> None:
    assert prose.markdown(lines) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("NOLINTNEXTLINE(bugprone-x) Keeps the cache.", "Keeps the cache."),
    ("Keeps the cache.  # noqa: E501", "Keeps the cache. #"),
    ("mypy: ignore-errors", ""),
    ("[=======[.rst:", ""),
    ("]=======]", ""),
])
def test_comment(raw: str, expected: str) -> None:
    assert prose.comment(raw) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("One. Two.", "One."),
    ("Uses e.g. caching. Then more.", "Uses e.g. caching."),
    ("Calls `os.path. join` first. Then.", "Calls `os.path. join` first."),
    ("x" * 200, "x" * 159 + "…"),
    ("word " * 30 + "`a_very_long_code_span_that_crosses_the_limit`", None),
])
def test_first_sentence(text: str, expected: str | None) -> None:
    result = prose.first_sentence(text)
    if expected is None:  # cut before the code span, never inside it
        assert result.endswith("…") and result.count("`") % 2 == 0
    else:
        assert result == expected


@pytest.mark.parametrize(("source", "signature"), [
    ("def f(\n    self,\n    x: int,\n) -> None:\n    pass\n", "(self, x: int) -> None"),
    ("def f(t=(1,)):\n    pass\n", "(t=(1,))"),
])
def test_python_signature_as_one_line(source: str, signature: str) -> None:
    from pathlib import Path

    from docgraph.analyzers import analyze
    from docgraph.config import load

    facts = analyze("m.py", source.encode(), load(str(Path(__file__).parent)).analysis)
    assert facts.symbols[0].signature == signature
