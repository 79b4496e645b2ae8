"""Finding levels and loading their code lazily.

Levels come from three places, in this order (the first of a duplicate id wins, the others are
reported): the shipped ``levels/`` folder, any ``--levels-dir`` given on the command line, and
installed level packs announced through the ``continuous_function.levels`` entry-point group.
Start-up only reads manifests. A level's Python code is imported when it is opened, as a
package of its own (``cf_level_<id>``), so a level's modules may import each other relatively
and the whole level can be re-imported after an edit. A level's kernels (``kernels.py``) are
imported the same way, when they are asked for (:meth:`LevelEntry.kernels`).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import pkgutil
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Iterable

from .manifest import MANIFEST_NAME, Manifest, ManifestError, load_manifest
from .paths import LEVELS_DIR

ENTRY_POINT_GROUP = "continuous_function.levels"
KERNELS_MODULE = "kernels"  # a level's kernels: kernels.py, or a kernels/ package, in its folder


class LevelLoadError(RuntimeError):
    """A level's code could not be imported or does not provide what its manifest names."""


@dataclass
class LevelEntry:
    """One level folder as discovered: its manifest, or the error that stopped it."""

    folder: Path
    source: str  # "builtin", "dir:<path>" or "pack:<entry point>"
    manifest: Manifest | None = None
    error: str | None = None
    _modules: dict = field(default_factory=dict, repr=False)

    @property
    def id(self) -> str:
        return self.manifest.id if self.manifest else self.folder.name

    @property
    def package_name(self) -> str:
        return f"cf_level_{self.id}"

    def reload_manifest(self) -> None:
        """Read the manifest again (after an edit); sets ``error`` instead of raising."""
        try:
            self.manifest = load_manifest(self.folder)
            self.error = None
        except ManifestError as exc:
            self.manifest = None
            self.error = str(exc)

    def _ensure_package(self) -> str:
        package = self.package_name
        loaded = sys.modules.get(package)
        if loaded is not None and list(getattr(loaded, "__path__", [])) != [str(self.folder)]:
            self.unload()  # a level with the same id from another folder was imported before
        if package not in sys.modules:
            pkg_spec = importlib.machinery.ModuleSpec(package, None, is_package=True)
            pkg = importlib.util.module_from_spec(pkg_spec)
            pkg.__path__ = [str(self.folder)]
            sys.modules[package] = pkg
        return package

    def _module_path(self, module_name: str) -> Path | None:
        """The file of the level's module ``module_name`` (a ``.py`` file or a package), if any."""
        base = self.folder / module_name.replace(".", "/")
        for path in (base.with_name(base.name + ".py"), base / "__init__.py"):
            if path.is_file():
                return path
        return None

    def module(self, module_name: str) -> ModuleType:
        """Import the level's module ``module_name`` (``"kernels"``, ``"model"``) in the level's
        package, the one its model and view use; raises :class:`LevelLoadError` if it cannot."""
        package = self._ensure_package()
        path = self._module_path(module_name)
        if path is None:
            raise LevelLoadError(f"{self.folder / module_name.replace('.', '/')}.py: no such file")
        try:
            return importlib.import_module(f"{package}.{module_name}")
        except Exception as exc:
            raise LevelLoadError(f"{path}: cannot import: {type(exc).__name__}: {exc}") from exc

    def _import(self, spec: str) -> type:
        module_name, _, attr = spec.partition(":")
        if not attr:
            raise LevelLoadError(f"{self.folder}: {spec!r} must look like 'module:Class'")
        path = self.folder / (module_name.replace(".", "/") + ".py")
        if not path.is_file():
            raise LevelLoadError(f"{path}: no such file (the manifest names {spec!r})")
        module = self.module(module_name)
        try:
            return getattr(module, attr)
        except AttributeError:
            raise LevelLoadError(f"{self.folder / (module_name + '.py')}: defines no {attr!r}") from None

    @property
    def has_kernels(self) -> bool:
        """Whether the level ships kernels (``kernels.py`` or a ``kernels/`` package)."""
        return self._module_path(KERNELS_MODULE) is not None

    def kernels(self) -> dict:
        """The kernels the level registers, by name (``{}`` if it ships none).

        Imports ``kernels.py`` (or every module of a ``kernels/`` package) in the level's package,
        lazily like the model; the kernels are those whose reference is defined in the level.
        """
        if not self.has_kernels:
            return {}
        module = self.module(KERNELS_MODULE)
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            self.module(f"{KERNELS_MODULE}.{info.name}")
        from sim.kernel import KERNELS

        package = self.package_name
        return {name: k for name, k in KERNELS.items() if k.module == package or k.module.startswith(package + ".")}

    def model_class(self) -> type:
        """Import the level's model class (named by the manifest's ``model``)."""
        if self.manifest is None:
            raise LevelLoadError(self.error or f"{self.folder}: no manifest")
        return self._import(self.manifest.model)

    def view_class(self) -> type:
        """Import the level's view class (named by the manifest's ``view``)."""
        if self.manifest is None:
            raise LevelLoadError(self.error or f"{self.folder}: no manifest")
        return self._import(self.manifest.view)

    def unload(self) -> None:
        """Forget the imported code so that the next use imports the edited files."""
        package = self.package_name
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]
        importlib.invalidate_caches()

    def to_json(self) -> dict:
        """The entry as ``continuous-function list --json`` prints it."""
        m = self.manifest
        return {
            "id": self.id,
            "title": m.title if m else None,
            "pillar": m.pillar if m else None,
            "summary": m.summary if m else None,
            "prerequisites": list(m.prerequisites) if m else [],
            "folder": str(self.folder),
            "source": self.source,
            "error": self.error,
        }


def _scan(directory: Path, source: str) -> Iterable[LevelEntry]:
    if not directory.is_dir():
        return
    for folder in sorted(p for p in directory.iterdir() if p.is_dir() and (p / MANIFEST_NAME).is_file()):
        entry = LevelEntry(folder=folder.resolve(), source=source)
        entry.reload_manifest()
        yield entry


def _pack_dirs() -> Iterable[tuple[str, Path]]:
    """Directories announced by installed level packs, located without importing them."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            spec = importlib.util.find_spec(ep.value.split(":")[0])
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        if spec.submodule_search_locations:
            for location in spec.submodule_search_locations:
                yield ep.name, Path(location)
        elif spec.origin:
            yield ep.name, Path(spec.origin).parent


class Registry:
    """All levels found, by id, plus the folders that failed or clashed."""

    def __init__(self, extra_dirs: Iterable[Path] = (), builtin: bool = True, packs: bool = True):
        self.entries: dict[str, LevelEntry] = {}
        self.problems: list[LevelEntry] = []
        sources: list[tuple[Path, str]] = []
        if builtin:
            sources.append((LEVELS_DIR, "builtin"))
        sources += [(Path(d), f"dir:{d}") for d in extra_dirs]
        if packs:
            sources += [(path, f"pack:{name}") for name, path in _pack_dirs()]
        for directory, source in sources:
            if not Path(directory).is_dir():
                bad = LevelEntry(folder=Path(directory), source=source, error=f"{directory}: not a directory")
                self.problems.append(bad)
                continue
            for entry in _scan(Path(directory), source):
                if entry.error:
                    self.problems.append(entry)
                elif entry.id in self.entries:
                    first = self.entries[entry.id]
                    entry.error = f"duplicate level id {entry.id!r}: already provided by {first.folder}"
                    self.problems.append(entry)
                else:
                    self.entries[entry.id] = entry

    def retry(self, entry: LevelEntry) -> bool:
        """Read a broken level's manifest again; True if it now loads (it joins the levels)."""
        entry.reload_manifest()
        if entry.error or entry.id in self.entries:
            if not entry.error:
                entry.error = f"duplicate level id {entry.id!r}: already provided by {self.entries[entry.id].folder}"
            return False
        self.problems.remove(entry)
        self.entries[entry.id] = entry
        return True

    def __iter__(self):
        return iter(self.entries.values())

    def all_entries(self) -> list[LevelEntry]:
        """Every folder found, the usable ones and the problems."""
        return list(self.entries.values()) + self.problems

    def get(self, level_id: str) -> LevelEntry:
        """The entry for ``level_id``; raises ``KeyError`` naming the valid ids."""
        if level_id not in self.entries:
            valid = ", ".join(sorted(self.entries)) or "(none found)"
            raise KeyError(f"unknown level {level_id!r}; levels found: {valid}")
        return self.entries[level_id]
