"""Every shipped level survives hundreds of frames of seeded random input, headless.

No GL error, no exception, and a state that is finite unless the run honestly reports that it
diverged. Each level is also validated the way ``continuous-function validate`` does it.
"""

import pytest

from sandbox.fuzz import fuzz_frames
from sandbox.registry import Registry

LEVELS = sorted(Registry(packs=False).entries)


@pytest.mark.parametrize("level_id", LEVELS)
def test_level_survives_random_input(level_id, make_app):
    app = make_app(level=level_id)
    assert app.host.error is None, app.host.error
    problems = fuzz_frames(app, frames=300, seed=1)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("level_id", LEVELS)
def test_level_has_the_parts_a_learner_sees(level_id):
    entry = Registry(packs=False).get(level_id)
    folder = entry.folder
    assert len((folder / "README.md").read_text()) > 200, "README.md: the claim and its boundary"
    assert (folder / "witness.py").is_file(), "a code witness"
    assert list(folder.glob("test_*.py")), "tests of the level's claims"
    assert entry.manifest.challenges, "at least one prediction challenge"
    assert entry.manifest.math, "a math card ([[math]] in level.toml)"
