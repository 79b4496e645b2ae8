"""Finding levels and loading their code lazily.

Levels come from three places, in this order (the first of a duplicate id wins, the others are
reported): the shipped ``levels/`` folder, any ``--levels-dir`` given on the command line, and
installed level packs announced through the ``continuous_function.levels`` entry-point group.
Start-up only reads manifests. A level's Python code is imported when it is opened, as a
package of its own (``cf_level_<id>``), so a level's modules may import each other relatively
and the whole level can be re-imported after an edit. A level's kernels (``kernels.py``) are
imported the same way, when they are asked for (:meth:`LevelEntry.kernels`).

Nothing a folder holds can take the listing down: any failure while reading one folder becomes
that folder's one-line error and the other levels load. Level packs are located without running
their code (no ``__init__.py`` is executed to list them), and a level reads, imports and includes
only files that resolve inside its own folder.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import pkgutil
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from .manifest import MANIFEST_NAME, Manifest, load_manifest
from .paths import LEVELS_DIR

ENTRY_POINT_GROUP = "continuous_function.levels"
KERNELS_MODULE = "kernels"  # a level's kernels: kernels.py, or a kernels/ package, in its folder
LEVEL_FILE_MAX_BYTES = 1 << 20  # what read_text reads of a level's text file (README, witness)


class LevelLoadError(RuntimeError):
    """A level's code could not be imported or does not provide what its manifest names."""


class LevelFileError(LevelLoadError):
    """A file the level asks for is missing, not a regular file, or resolves outside the folder."""


def _one_line(text: str, limit: int = 600) -> str:
    """``text`` on one line (control characters escaped), at most ``limit`` characters."""
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text)[: limit + 1])
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _describe(exc: BaseException) -> str:
    """An exception as one line: its type and message."""
    message = str(exc)
    return _one_line(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path``, with every symlink followed, lies inside ``folder`` (also resolved)."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


class _LevelFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of a level package (``cf_level_<id>.*``) with the ordinary path finder,
    and refuses any whose file resolves outside the level's folder (a symlinked ``model.py``
    would otherwise run code from anywhere)."""

    def find_spec(self, fullname, path=None, target=None):
        top, dot, _ = fullname.partition(".")
        if not dot or not top.startswith("cf_level_"):
            return None
        root = getattr(sys.modules.get(top), "__cf_level_folder__", None)
        if root is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None:
            return None
        for location in [spec.origin, *(spec.submodule_search_locations or [])]:
            if location and location not in ("built-in", "frozen", "namespace") and not _inside(Path(location), root):
                raise ImportError(f"{location} resolves outside the level folder {root}; a level runs only "
                                  "its own files", name=fullname)
        return spec


def _install_finder() -> None:
    if not any(isinstance(f, _LevelFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _LevelFinder())


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
        """Read the manifest again (after an edit); sets ``error`` (one line) instead of raising.

        Whatever goes wrong (a bad manifest, an unreadable folder, anything unforeseen) stays
        this entry's error: one folder never takes the others down."""
        try:
            self.manifest = load_manifest(self.folder)
            self.error = None
        except KeyboardInterrupt:
            raise
        except ValueError as exc:  # ManifestError: already one line naming file, table and key
            self.manifest = None
            self.error = _one_line(str(exc))
        except BaseException as exc:  # noqa: BLE001 - one folder's failure is its own error
            self.manifest = None
            self.error = _one_line(f"{self.folder / MANIFEST_NAME}: cannot be read: {_describe(exc)}")

    def file_problem(self, name: str) -> str | None:
        """Why the level's file ``name`` (a path relative to its folder) cannot be read, in one
        line; ``None`` when :meth:`level_file` gives it."""
        return self._confine(name)[1]

    def level_file(self, name: str) -> Path | None:
        """The resolved path of the file ``name`` in the level folder, or ``None`` when it is
        missing, not a regular file, or resolves outside the folder (an absolute path, ``..``,
        or a symlink out of it); :meth:`file_problem` says which."""
        return self._confine(name)[0]

    def _confine(self, name: str) -> tuple[Path | None, str | None]:
        folder = Path(self.folder)
        try:
            root = folder.resolve()
            path = (folder / name).resolve()
        except (OSError, RuntimeError, ValueError) as exc:
            return None, _one_line(f"{folder / str(name)}: cannot be resolved: {_describe(exc)}")
        shown = _one_line(str(name), 120)
        if not path.is_relative_to(root):
            return None, f"{shown} resolves outside the level folder (to {_one_line(str(path), 200)}); a level reads only its own files"
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return None, f"{shown}: no such file in the level folder"
        except OSError as exc:
            return None, f"{shown}: cannot be read: {exc.strerror or exc}"
        if not stat.S_ISREG(info.st_mode):
            return None, f"{shown} is not a regular file"
        return path, None

    def read_text(self, name: str, limit: int = LEVEL_FILE_MAX_BYTES) -> str:
        """The text of the level's file ``name`` as UTF-8 (undecodable bytes replaced), at most
        ``limit`` bytes of it, with a note at the end when it was cut. Raises
        :class:`LevelFileError` (one line) when the file is missing, not a regular file,
        unreadable or outside the folder."""
        path, problem = self._confine(name)
        if path is None:
            raise LevelFileError(problem)
        try:
            with open(path, "rb") as f:
                raw = f.read(limit + 1)
        except OSError as exc:
            raise LevelFileError(f"{name}: cannot be read: {exc.strerror or exc}") from None
        text = raw[:limit].decode("utf-8", errors="replace")
        if len(raw) > limit:
            text += f"\n\n[{name} is longer than {limit // 1024} KB: the rest is not shown]\n"
        return text

    def _ensure_package(self) -> str:
        package = self.package_name
        loaded = sys.modules.get(package)
        if loaded is not None and list(getattr(loaded, "__path__", [])) != [str(self.folder)]:
            self.unload()  # a level with the same id from another folder was imported before
        if package not in sys.modules:
            pkg_spec = importlib.machinery.ModuleSpec(package, None, is_package=True)
            pkg = importlib.util.module_from_spec(pkg_spec)
            pkg.__path__ = [str(self.folder)]
            pkg.__cf_level_folder__ = Path(self.folder).resolve()  # _LevelFinder confines imports to it
            sys.modules[package] = pkg
        _install_finder()
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
        if not _inside(path, Path(self.folder)):
            raise LevelLoadError(f"{path} resolves outside the level folder (to {path.resolve()}); a level runs "
                                 "only its own files")
        try:
            return importlib.import_module(f"{package}.{module_name}")
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # level code may raise anything, sys.exit included: it is a load error
            raise LevelLoadError(f"{path}: cannot import: {type(exc).__name__}: {exc}") from exc

    def _import(self, spec: str) -> type:
        module_name, _, attr = spec.partition(":")
        if not attr:
            raise LevelLoadError(f"{self.folder}: {spec!r} must look like 'module:Class'")
        path = Path(self.folder) / (module_name.replace(".", "/") + ".py")
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
    """Every folder of ``directory`` that holds a ``level.toml`` (of any kind: a FIFO or a
    dangling link gets its reason too), with its manifest read or its error."""
    try:
        children = sorted(directory.iterdir())
    except OSError as exc:
        yield LevelEntry(folder=directory, source=source, error=_one_line(f"{directory}: cannot be listed: {exc.strerror or exc}"))
        return
    for child in children:
        try:
            if not (child.is_dir() and os.path.lexists(child / MANIFEST_NAME)):
                continue
            folder = child.resolve()
        except (OSError, RuntimeError) as exc:
            yield LevelEntry(folder=child, source=source, error=_one_line(f"{child}: cannot be read: {_describe(exc)}"))
            continue
        entry = LevelEntry(folder=folder, source=source)
        entry.reload_manifest()
        yield entry


def _locate_module(module: str) -> list[Path]:
    """The directories of the module or package ``module`` (dotted), found without importing
    it or any package above it: the top-level package is located by the import system's
    finders, each submodule by the path finder in its parent's search locations, so no
    ``__init__.py`` runs."""
    parts = module.split(".")
    if not all(p.isidentifier() for p in parts):
        raise ValueError(f"{module!r} is not a module name")
    spec = importlib.util.find_spec(parts[0])
    for i in range(1, len(parts)):
        if spec is None or not spec.submodule_search_locations:
            return []
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), list(spec.submodule_search_locations))
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [Path(p) for p in spec.submodule_search_locations]
    return [Path(spec.origin).parent] if spec.origin else []


def _pack_dirs(allowed: list[str] | None = None) -> Iterable[tuple[str, Path | None, str | None]]:
    """``(pack name, directory, problem)`` for the installed level packs (only those named in
    ``allowed`` when it is a list), located without importing them."""
    try:
        found = list(entry_points(group=ENTRY_POINT_GROUP))
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - broken package metadata must not stop the listing
        yield "?", None, f"installed level packs cannot be listed: {_describe(exc)}"
        return
    names = {ep.name for ep in found}
    for name in allowed or ():
        if name not in names:
            yield name, None, f"level pack {name!r} is allowed but not installed"
    for ep in found:
        if allowed is not None and ep.name not in allowed:
            continue
        module = ep.value.split(":")[0].strip()
        try:
            locations = _locate_module(module)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - a finder may run foreign code; it cannot stop the listing
            yield ep.name, None, f"level pack {ep.name!r} ({module}) cannot be located: {_describe(exc)}"
            continue
        if not locations:
            yield ep.name, None, f"level pack {ep.name!r}: module {module!r} is not installed"
        for location in locations:
            yield ep.name, location, None


class Registry:
    """All levels found, by id, plus the folders that failed or clashed."""

    def __init__(self, extra_dirs: Iterable[Path] = (), builtin: bool = True,
                 packs: bool | None | Iterable[str] = None):
        """Find the levels: the shipped ones (``builtin``), those in ``extra_dirs``, and those of
        installed level packs. ``packs`` is ``None`` or ``True`` for every installed pack,
        ``False`` for none, or a list of pack names (entry-point names, as in ``pack:<name>``)
        to load only those: the kiosk's allow-list; a name that is not installed is reported."""
        self.entries: dict[str, LevelEntry] = {}
        self.problems: list[LevelEntry] = []
        #: the folders of levels that were read, with their source: a folder may also hold the
        #: routes through its levels (``routes.toml``, see sandbox.routes)
        self.directories: list[tuple[Path, str]] = []
        sources: list[tuple[Path, str]] = []
        if builtin:
            sources.append((LEVELS_DIR, "builtin"))
        sources += [(Path(d), f"dir:{d}") for d in extra_dirs]
        if packs is not False:
            allowed = None if packs is None or packs is True else [str(p) for p in packs]
            for name, path, problem in _pack_dirs(allowed):
                if problem:
                    self.problems.append(LevelEntry(folder=Path(name), source=f"pack:{name}", error=problem))
                else:
                    sources.append((path, f"pack:{name}"))
        for directory, source in sources:
            try:
                is_dir = Path(directory).is_dir()
            except OSError as exc:
                is_dir, reason = False, f"{directory}: cannot be read: {exc.strerror or exc}"
            else:
                reason = f"{directory}: not a directory"
            if not is_dir:
                self.problems.append(LevelEntry(folder=Path(directory), source=source, error=_one_line(reason)))
                continue
            self.directories.append((Path(directory), source))
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
