"""Continuous Function: a real-time sandbox where the mathematics of deep learning is played.

The engine is organised in layers that only depend downward:

- ``sandbox.manifest``, ``sandbox.registry``: level folders, their manifests, discovery.
- ``sandbox.model``, ``sandbox.runner``: a level's simulation (numpy, no GL) and the
  fixed-timestep runner that records its observables.
- ``sandbox.challenges``, ``sandbox.progress``: prediction challenges, scoring, saved progress.
- ``sandbox.gfx``: OpenGL contexts, shaders with ``#include`` and hot reload, cameras, meshes.
- ``sandbox.ui``: Dear ImGui panels, LaTeX, plots.
- ``sandbox.app``: the one loop, windowed or headless; the atlas; the level host.
- ``sandbox.cli``: the ``continuous-function`` command.
"""

__version__ = "0.1.0"

import os as _os

# Small matrices everywhere: one BLAS thread (see sim/__init__.py); before numpy is imported.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# sim's GLSL kernels get their hidden GL context and shader compiler from the sandbox (sim
# imports nothing of it): installed here, so that any use of the sandbox provides them.
from .kernels import provide_gl as _provide_gl  # noqa: E402

_provide_gl()
