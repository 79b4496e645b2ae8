"""Every kernel, on every backend this machine has, agrees with its numpy reference.

"Every kernel" is sim's shared ones and every built-in level's (``levels/<id>/kernels.py``),
found the way the game finds levels; a modder's level folder that ships a kernel is checked the
same way, here and by ``continuous-function validate``.
"""

import textwrap

import numpy as np
import pytest

from sandbox.kernels import all_kernels, check_kernels
from sandbox.registry import Registry
from sandbox.scaffold import new_level
from sim import backends
from sim.kernel import KERNELS as REGISTERED
from sim.kernel import Kernel, compute_program, register

KERNELS = all_kernels(Registry(packs=False))
CASES = [(name, backend) for name, kernel in sorted(KERNELS.items()) for backend in kernel.implementations()
         if backend != "numpy"]


def test_there_are_kernels_and_each_has_an_example():
    assert KERNELS
    for kernel in KERNELS.values():
        assert kernel.example is not None, f"{kernel.name} has no example input"
        assert kernel.numba is not None or kernel.glsl is not None, f"{kernel.name} has only a reference"


def test_levels_kernels_are_found_with_the_shared_ones():
    modules = {kernel.module for kernel in KERNELS.values()}
    assert any(m.startswith("sim.") for m in modules), "sim's shared kernels"
    assert any(m.startswith("cf_level_") for m in modules), "kernels shipped in level folders"


@pytest.mark.parametrize("name, backend", CASES, ids=[f"{n}-{b}" for n, b in CASES])
def test_kernel_agrees_with_the_numpy_reference(name, backend):
    kernel = KERNELS[name]
    if backend not in kernel.runnable():
        pytest.skip(f"{backend} is not available here")
    mismatch = kernel.check(backend)
    assert mismatch is None, mismatch


# ------------------------------------------------------------------------------------------
# A modder's level that ships a kernel: numpy, Numba and GLSL, the shader beside kernels.py

MODDER_KERNELS = '''
from pathlib import Path

import numba
import numpy as np

from sim.kernel import Kernel, compute_program, groups, register

HERE = Path(__file__).parent
FACTOR = {factor}  # what the fast versions multiply by (the reference doubles)


def scale_reference(x):
    return 2.0 * np.asarray(x, dtype=np.float32)


@numba.njit(cache=False)
def _scale(x, out):
    for i in range(x.shape[0]):
        out[i] = FACTOR * x[i]


def scale_numba(x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty_like(x)
    _scale(x, out)
    return out


def scale_glsl(ctx, x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    program = compute_program(ctx, HERE / "scale.glsl", LOCAL_SIZE=64)
    buffer = ctx.buffer(x.tobytes())
    try:
        buffer.bind_to_storage_buffer(0)
        program["count"].value = len(x)
        program["factor"].value = FACTOR
        program.run(groups(len(x), 64))
        return np.frombuffer(buffer.read(), dtype=np.float32).copy()
    finally:
        buffer.release()


register(Kernel(
    name="{name}",
    reference=scale_reference,
    numba=scale_numba,
    glsl=scale_glsl,
    example=lambda rng: (rng.normal(size=1000).astype(np.float32),),
))
'''

MODDER_SHADER = """\
layout(local_size_x = LOCAL_SIZE) in;
#include "kernels/include/hash_rng.glsl"
layout(std430, binding = 0) buffer Values { float values[]; };
uniform uint count;
uniform float factor;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < count) values[i] = factor * values[i];
}
"""


def _modder_level(tmp_path, level_id: str, factor: float):
    """A scaffolded level whose kernels.py also registers ``<id>_scale`` (``factor`` x, the
    reference 2 x), with its shader beside it."""
    folder = new_level(level_id, tmp_path)
    _write_kernels(folder, factor)
    (folder / "scale.glsl").write_text(MODDER_SHADER)
    return Registry([tmp_path], builtin=False, packs=False), folder


def _write_kernels(folder, factor: float):
    """The scaffold's kernels.py (kept: its model uses it), then the scale kernel."""
    scaffolded = folder / "kernels.scaffold"
    if not scaffolded.exists():
        scaffolded.write_text((folder / "kernels.py").read_text() if (folder / "kernels.py").exists() else "")
    kernel = MODDER_KERNELS.format(factor=factor, name=f"{folder.name}_scale")
    (folder / "kernels.py").write_text(scaffolded.read_text() + kernel)


def _forget(registry):
    for entry in registry:
        for name in entry.kernels():
            REGISTERED.pop(name, None)
        entry.unload()


def test_a_modders_level_kernel_is_found_and_checked_on_every_backend(tmp_path):
    registry, folder = _modder_level(tmp_path, "modder_good", 2.0)
    try:
        kernels = all_kernels(registry)
        kernel = kernels["modder_good_scale"]
        assert kernel.module == "cf_level_modder_good.kernels"
        assert "affine_scan" in kernels, "sim's shared kernels come too"
        assert "particle_step" not in kernels, "but not the built-in levels' (another registry)"
        assert kernel.implementations() == ["glsl", "numba", "numpy"]
        assert set(registry.get("modder_good").kernels()) >= {"modder_good_scale"}
        for backend in kernel.runnable():
            assert kernel.check(backend) is None
        assert check_kernels([kernel]) == []
    finally:
        _forget(registry)


def test_a_wrong_modder_kernel_is_reported_naming_kernel_and_backend(tmp_path):
    registry, folder = _modder_level(tmp_path, "modder_wrong", 3.0)
    try:
        kernel = registry.get("modder_wrong").kernels()["modder_wrong_scale"]
        problems = check_kernels([kernel])
        assert any(p.startswith("kernel 'modder_wrong_scale' on numba: the result differs from the numpy "
                                "reference in ") for p in problems), problems
        if "glsl" in kernel.runnable():
            assert any(p.startswith("kernel 'modder_wrong_scale' on glsl: ") for p in problems), problems
    finally:
        _forget(registry)


def test_validate_runs_the_kernels_of_the_folder_it_validates(tmp_path):
    from sandbox.validate import validate_level

    registry, folder = _modder_level(tmp_path, "modder_validated", 2.25)
    try:
        problems = validate_level(folder, frames=5)
        assert any("kernel 'modder_validated_scale' on numba: " in p for p in problems), problems
        _write_kernels(folder, 2.0)
        registry.get("modder_validated").unload()
        assert validate_level(folder, frames=5) == []
    finally:
        _forget(registry)


def test_a_kernel_that_does_not_import_is_a_validate_problem(tmp_path):
    from sandbox.kernels import level_kernel_problems

    registry, folder = _modder_level(tmp_path, "modder_broken", 2.0)
    (folder / "kernels.py").write_text("import no_such_module\n")
    try:
        problems = level_kernel_problems(registry.get("modder_broken"))
        assert len(problems) == 1 and "kernels.py: cannot import: ModuleNotFoundError" in problems[0], problems
    finally:
        registry.get("modder_broken").unload()


def test_a_kernel_shader_that_does_not_compile_names_file_and_line(tmp_path, gl):
    from sandbox.gfx.shaders import ShaderError

    shader = tmp_path / "broken.glsl"
    shader.write_text("layout(local_size_x = 1) in;\nvoid main() {\n    undefined_thing = 1.0;\n}\n")
    with pytest.raises(ShaderError, match=r"broken.glsl:3"):
        compute_program(gl, shader)
    with pytest.raises(ValueError, match="relative"):
        compute_program(gl, shader.relative_to(tmp_path))


def test_a_kernel_name_belongs_to_one_piece_of_code():
    def other_reference(x):
        return x

    with pytest.raises(ValueError, match="'affine_scan' is taken"):
        register(Kernel(name="affine_scan", reference=other_reference, numba=other_reference))
    again = KERNELS["affine_scan"]
    assert register(again) is again  # the same code again (a reload) replaces it


def test_without_a_gl_provider_glsl_is_unavailable_and_says_why(monkeypatch):
    monkeypatch.setattr(backends, "_shader_compiler", None)
    backends.glsl_reason.cache_clear()
    try:
        assert "no OpenGL provider" in backends.unavailable_reason("glsl")
    finally:
        monkeypatch.undo()
        backends.glsl_reason.cache_clear()


# ------------------------------------------------------------------------------------------
# GPU-resident state


def test_a_gpu_array_keeps_shape_and_dtype_and_reads_back_what_was_written(gl):
    from sim.gpu import GpuArray

    values = np.arange(12, dtype=np.float32).reshape(6, 2)
    with GpuArray.from_array(gl, values) as array:
        assert (array.shape, array.dtype, array.nbytes, len(array)) == ((6, 2), np.float32, 48, 6)
        np.testing.assert_array_equal(array.read(), values)
        array.write([[-1.0, -2.0]], start=4)
        np.testing.assert_array_equal(array.read(2, start=3), [[6.0, 7.0], [-1.0, -2.0]])
        with pytest.raises(ValueError, match="do not fit"):
            array.write(values, start=1)
        array.clear()
        assert not array.read().any()
    assert array.released
    array.release()  # idempotent
    with pytest.raises(RuntimeError, match="released"):
        array.read()


def test_a_particle_system_on_glsl_keeps_its_particles_in_a_gpu_array_until_released(gl):
    from sim.gpu import GpuArray

    kernels = Registry(packs=False).get("particle_shepherd").module("kernels")
    system = kernels.ParticleSystem(1000, "glsl", seed=3)
    state = system.state
    assert isinstance(state, GpuArray) and state.shape == (1000, 2)
    assert system.gl_buffer is state.buffer
    assert system.sample(10).shape == (10, 2)
    system.release()
    assert state.released and system.gl_buffer is None
    system.release()


def test_a_level_kernels_file_runs_as_a_script_in_the_levels_package(tmp_path):
    import subprocess
    import sys

    from sandbox.paths import LEVELS_DIR

    script = LEVELS_DIR / "eos_canyon" / "kernels.py"
    done = subprocess.run([sys.executable, str(script), "--rates", "4", "--steps", "5", "--grid", "4", "--repeats", "1"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "numpy" in done.stdout


def test_an_edited_kernel_shader_is_compiled_again_at_its_next_use(tmp_path, gl):
    import os

    shader = tmp_path / "edited.glsl"
    shader.write_text("layout(local_size_x = 1) in;\nvoid main() {}\n")
    first = compute_program(gl, shader)
    assert compute_program(gl, shader) is first
    shader.write_text("layout(local_size_x = 2) in;\nvoid main() {}\n")
    os.utime(shader, ns=(0, shader.stat().st_mtime_ns + 10**9))
    second = compute_program(gl, shader)
    assert second is not first and compute_program(gl, shader) is second
