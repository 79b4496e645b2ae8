"""Dependencies point one way: levels -> sandbox -> sim.

sim (the numerics) imports nothing of the sandbox, not even inside a function; the sandbox
reaches level code only through the registry (``cf_level_<id>`` packages), never by importing
``levels``. Checked on the source with ``ast``, so an import that a test never runs counts too.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, anywhere in the file, absolute names (relative ones resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def offending(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        if "templates" in path.relative_to(ROOT).parts:  # not Python until filled in
            continue
        for line, module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                out.append(f"{path.relative_to(ROOT)}:{line}: imports {module}")
    return out


def test_sim_imports_nothing_of_the_sandbox_or_the_levels():
    assert not offending("sim", ("sandbox", "levels")), "\n".join(offending("sim", ("sandbox", "levels")))


def test_the_sandbox_does_not_import_the_levels_folder():
    assert not offending("sandbox", ("levels",)), "\n".join(offending("sandbox", ("levels",)))


@pytest.mark.parametrize("source, expected", [
    ("import sandbox.gfx", "sandbox.gfx"),
    ("def f():\n    from sandbox.paths import SHADERS_DIR", "sandbox.paths"),
    ("def f():\n    import importlib\n    importlib.import_module('sandbox.gfx.context')", "sandbox.gfx.context"),
    ("from . import backends", "sim"),
    ("from ..sandbox import view", "sandbox"),
    ("from .kernel import Kernel", "sim.kernel"),
])
def test_the_check_sees_every_kind_of_import(monkeypatch, source, expected):
    path = ROOT / "sim" / "_layering_probe.py"
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: source)
    assert expected in [module for _, module in imported_modules(path)]
