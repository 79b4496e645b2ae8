"""Seeded random input for a level: mouse, wheel, keys and parameter changes, one event a frame.

Used by ``continuous-function validate`` and the test suite: a level must survive it with no
GL error, no exception and a state that is finite (or honestly reported as diverged).
"""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui

_KEYS = [imgui.Key.space, imgui.Key.n, imgui.Key.r, imgui.Key.left_arrow, imgui.Key.right_arrow, imgui.Key.up_arrow,
         imgui.Key.w, imgui.Key.q, imgui.Key.e, imgui.Key.equal, imgui.Key.minus]


def random_value(param, rng: np.random.Generator):
    """A random valid value of a manifest parameter (log-uniform on log sliders)."""
    if param.type == "bool":
        return bool(rng.integers(2))
    if param.type == "choice":
        return param.choices[int(rng.integers(len(param.choices)))]
    if param.log:
        value = math.exp(rng.uniform(math.log(param.min), math.log(param.max)))
    else:
        value = rng.uniform(param.min, param.max)
    if param.type == "int":
        return int(min(max(round(value), param.min), param.max))
    return float(value)


def fuzz_frames(app, frames: int, seed: int = 0, param_every: int = 40) -> list[str]:
    """Drive ``app`` (a headless App with a level open) for ``frames`` frames of random input.

    Returns problems found: GL errors, level errors, non-finite state that was not reported.
    """
    rng = np.random.default_rng(seed)
    problems: list[str] = []
    x0, y0, w, h = app.layout()["scene"]
    button_down = False
    for i in range(frames):
        host = app.host
        if host is None or host.runner is None:
            problems.append(f"frame {i}: the level closed or failed to open: {host.error if host else ''}")
            break
        r = rng.random()
        if r < 0.35:
            app.inject("mouse_pos", x0 + rng.random() * w, y0 + rng.random() * h)
        elif r < 0.5:
            button_down = not button_down
            app.inject("mouse_button", int(rng.integers(2)), button_down)
        elif r < 0.6:
            app.inject("wheel", float(rng.normal()))
        elif r < 0.7:
            key = _KEYS[int(rng.integers(len(_KEYS)))]
            app.inject("key", key, True)
            app.inject("key", key, False)
        if param_every and i % param_every == param_every - 1 and host.manifest.params:
            name = list(host.manifest.params)[int(rng.integers(len(host.manifest.params)))]
            host.runner.set_param(name, random_value(host.manifest.params[name], rng))
        if host.paused and rng.random() < 0.2:
            host.paused = False
        app.frame(1 / 60)
        error = app.ctx.error
        if error != "GL_NO_ERROR":
            problems.append(f"frame {i}: {error}")
        if app.host is not None and app.host.error:
            problems.append(f"frame {i}: the level failed:\n{app.host.error}")
            break
        run = app.host.runner if app.host else None
        if run is not None and run.error:
            problems.append(f"frame {i}: step failed:\n{run.error}")
            break
        if run is not None and not run.diverged:
            for name, array in run.model.state().items():
                if not np.all(np.isfinite(array)):
                    problems.append(f"frame {i}: state {name!r} is not finite but the run is not marked diverged")
                    break
        if run is not None and run.diverged:
            run.reset()
    return problems
