"""The package's layers: no module imports from a layer above its own.

Read from the source (every ``import``, inside functions too), so a lazy import
that runs only on some path counts as much as one at the top. The one cycle kept
is ``score`` <-> ``io`` (``Score.from_file`` reads files through ``seqart.io``,
which builds Scores): they are one layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "seqart"

#: top-level modules and packages of seqart, lowest layer first; a module may import
#: from its own layer and the ones below
LAYERS = [
    {"errors", "utils"},
    {"score", "io", "key_finding"},
    {"tokenizers", "audio", "plot"},
    {"corpora", "evaluate", "generate", "images"},
    {"models"},
    {"train", "feedback", "benchmarks"},
    {"workflows", "studio"},
    {"commands"},
    {"cli", "__main__"},
]
#: the package's ``__init__`` (``seqart.load``, the version) may be used from anywhere,
#: and it only reaches ``models`` inside ``load``
ANYWHERE = {"seqart"}


def _rank(name: str) -> int:
    for i, layer in enumerate(LAYERS):
        if name in layer:
            return i
    raise AssertionError(f"seqart.{name} is in no layer of tests/test_layers.py: place it")


def _imports(path: Path) -> set[str]:
    """The seqart top-level names ``path`` imports (``seqart.models.folder`` -> ``models``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "seqart":
                found.add(parts[1] if len(parts) > 1 else "seqart")
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_from_a_higher_layer(path):
    relative = path.relative_to(PACKAGE)
    own = relative.parts[0] if len(relative.parts) > 1 else relative.stem
    upward = sorted(name for name in _imports(path) - ANYWHERE - {own} if _rank(name) > _rank(own))
    assert not upward, f"seqart/{relative} ({own}, layer {_rank(own)}) imports from a higher layer: {upward}"


def test_the_issue_named_edges_are_gone():
    """The trainer reaches nothing of the command line; generation nothing of feedback,
    evaluation or audio."""
    for path in (PACKAGE / "train").rglob("*.py"):
        assert "commands" not in _imports(path), path
    for path in (PACKAGE / "generate").rglob("*.py"):
        assert not _imports(path) & {"feedback", "evaluate", "audio", "workflows", "commands"}, path
