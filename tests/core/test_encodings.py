"""Text is UTF-8 everywhere: a Path.read_text or write_text without an encoding takes the locale's (cp1252 on
Windows, ASCII under LANG=C), and reads a split file or a model's marker as something else."""

from __future__ import annotations

import ast

import pytest

from tests.constants import ROOT

PACKAGES = ("core", "training")


def unnamed_encodings(source: str) -> list[int]:
    """Lines of `source` that call read_text/write_text with no encoding (keyword, or read_text's one positional)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("read_text", "write_text"):
            positional = len(node.args) > (0 if node.func.attr == "read_text" else 1)
            if not positional and not any(keyword.arg == "encoding" for keyword in node.keywords):
                lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("package", PACKAGES)
def test_every_text_read_and_write_names_its_encoding(package):
    assert unnamed_encodings("p.read_text()\np.read_text('utf-8')\np.write_text(t, encoding='utf-8')") == [1]
    found = [f"{path.relative_to(ROOT)}:{line}" for path in sorted((ROOT / package).rglob("*.py"))
             for line in unnamed_encodings(path.read_text(encoding="utf-8"))]
    assert found == []
