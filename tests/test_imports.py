"""Every Home Assistant name is imported from the module that defines it.

Home Assistant drops re-exports without a deprecation warning (2026.11 dropped
`homeassistant.components.text.MAX_LENGTH_STATE_STATE`, which 2026.10 re-exported from
`homeassistant.const`), so an import through a re-export breaks on some release without notice.

One exception: a name the module lists in its `__all__`, its declared public API. Home Assistant
2026.11 moved the entity classes of `number`, `select` and `text` into an `entity` submodule that
2026.10 does not have, and lists them in the package's `__all__`; that import is the only one that
works on every supported release, and it is the one core integrations use.
"""

import ast
from collections.abc import Iterator
import importlib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parent.parent
CHECKED = [
    *sorted((ROOT / "custom_components").rglob("*.py")),
    *sorted((ROOT / "tests").glob("*.py")),
    *sorted((ROOT / "bench").glob("*.py")),
]


def _homeassistant_imports(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, module, name) of every `from homeassistant… import name` in a file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            module = node.module or ""
            if module == "homeassistant" or module.startswith("homeassistant."):
                for alias in node.names:
                    yield node.lineno, module, alias.name


def _top_level_definitions(module: ModuleType) -> set[str]:
    """Names a module binds itself (def, class, assignment), not through an import."""
    source = Path(module.__file__ or "").read_text()
    names: set[str] = set()
    pending = list(ast.parse(source).body)
    while pending:
        node = pending.pop()
        match node:
            case ast.FunctionDef() | ast.AsyncFunctionDef() | ast.ClassDef():
                names.add(node.name)
            case ast.Assign():
                names.update(
                    target.id
                    for target in ast.walk(ast.Tuple(elts=node.targets))
                    if isinstance(target, ast.Name)
                )
            case ast.AnnAssign(target=ast.Name(id=name)) | ast.TypeAlias(name=ast.Name(id=name)):
                names.add(name)
            case ast.If() | ast.Try():
                pending.extend(node.body)
                pending.extend(node.orelse)
                pending.extend(getattr(node, "finalbody", []))
                for handler in getattr(node, "handlers", []):
                    pending.extend(handler.body)
    return names


def _re_exports(path: Path) -> Iterator[str]:
    """Each import in a file that takes a name from a module other than the one defining it."""
    for line, module_name, name in _homeassistant_imports(path):
        module = importlib.import_module(module_name)
        if isinstance(getattr(module, name, None), ModuleType):
            continue  # `from homeassistant.helpers import device_registry as dr`
        if name not in _top_level_definitions(module) and name not in getattr(
            module, "__all__", ()
        ):
            yield f"line {line}: {name} is not defined in {module_name}"


@pytest.mark.parametrize("path", CHECKED, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_import_through_a_re_export(path: Path) -> None:
    """Each `from homeassistant.x import name` names the module where `name` is defined."""
    assert list(_re_exports(path)) == []


def test_a_re_export_is_caught(tmp_path: Path) -> None:
    """The check finds the import that broke on Home Assistant 2026.11, on either release."""
    source = tmp_path / "text.py"
    source.write_text(
        "from homeassistant.components.text import MAX_LENGTH_STATE_STATE\n"
        "from homeassistant.const import MAX_LENGTH_STATE_STATE as LIMIT\n"
    )
    assert list(_re_exports(source)) == [
        "line 1: MAX_LENGTH_STATE_STATE is not defined in homeassistant.components.text"
    ]
