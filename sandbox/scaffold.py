"""``continuous-function new-level``: copy the level template, filled in for a new id."""

from __future__ import annotations

from pathlib import Path
from string import Template

TEMPLATE = Path(__file__).parent / "templates" / "level"


class ScaffoldError(ValueError):
    """An id or destination that cannot be used."""


def new_level(level_id: str, directory: Path | str = ".") -> Path:
    """Create ``directory/level_id`` from the template; returns the folder."""
    if not level_id.isidentifier() or level_id != level_id.lower():
        raise ScaffoldError(f"level id {level_id!r} must be a lower-case Python identifier, e.g. my_level")
    folder = Path(directory) / level_id
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists; choose another id or --dir")
    words = level_id.replace("_", " ")
    camel = "".join(part.capitalize() for part in level_id.split("_"))
    values = {"id": level_id, "title": words.capitalize(), "Class": f"{camel}Model", "View": f"{camel}View"}
    folder.mkdir(parents=True)
    for source in sorted(TEMPLATE.iterdir()):
        if source.is_file():
            name = f"test_{level_id}.py" if source.name == "test_level.py" else source.name
            (folder / name).write_text(Template(source.read_text()).safe_substitute(values))
    return folder
