"""The particle shepherd's claims, asserted on the simulation (seeded)."""

import math
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

import sandbox.view
from sandbox.testing import headless_app, level, make_runner, measured_outcome, open_challenge
from sim import backends
from sim.mixture import PRESETS, GaussianMixture, preset, sliced_wasserstein
from sim.rng import normal_pairs_reference

level("particle_shepherd").module("kernels")  # imports the level's package as the game does
from cf_level_particle_shepherd.kernels import ParticleSystem, VPSchedule, reverse_coefficients  # noqa: E402

LEVEL = "particle_shepherd"
SMALL = {"particles": 4096}


def finished(params, seed=0, backend="numpy", steps=None):
    run = make_runner(LEVEL, {**SMALL, **params}, seed=seed, backend=backend)
    run.step(steps if steps is not None else run.params["steps"])
    return run


# -- the exact score --------------------------------------------------------------------------


@pytest.mark.parametrize("name", PRESETS)
def test_the_exact_mixture_score_equals_a_finite_difference_gradient_of_the_log_density(name):
    mixture = preset(name)
    schedule = VPSchedule()
    x = np.random.default_rng(1).normal(scale=2.0, size=(200, 2))
    eps = 1e-5
    for t in (0.0, 0.05, 0.3, 1.0):
        alpha, sigma = schedule.alpha(t), schedule.sigma(t)
        noised = mixture.noised(alpha, sigma)  # log_density uses the textbook formula, not the table
        fd = np.stack([(noised.log_density(x + e) - noised.log_density(x - e)) / (2 * eps)
                       for e in (np.array([eps, 0.0]), np.array([0.0, eps]))], axis=1)
        score = mixture.score(x, alpha, sigma)
        assert np.allclose(score, fd, rtol=1e-5, atol=1e-5 * (1 + np.abs(fd).max())), (name, t)


def test_a_noised_mixture_is_the_law_of_noised_data():
    mixture, rng = preset("spiral"), np.random.default_rng(2)
    alpha, sigma, n = 0.6, 0.8, 4096
    noised_data = alpha * mixture.sample(n, rng) + sigma * rng.standard_normal((n, 2))
    floor = sliced_wasserstein(mixture.sample(n, rng, alpha, sigma), mixture.sample(n, rng, alpha, sigma))
    assert sliced_wasserstein(noised_data, mixture.sample(n, rng, alpha, sigma)) < 2.5 * floor


def test_the_score_stays_finite_for_far_points_and_many_sharp_components():
    mixture = preset("picture")
    far = np.array([[40.0, -35.0], [1e3, 1e3], [0.0, 0.0]])
    assert np.all(np.isfinite(mixture.score(far)))  # logits of -1e7 must not underflow to 0/0


# -- the counter-based noise -------------------------------------------------------------------


def test_the_hash_normals_are_standard_normal_and_independent_across_steps():
    z = normal_pairs_reference(seed=3, counter=1, count=200_000)
    z_next = normal_pairs_reference(seed=3, counter=2, count=200_000)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 0.01
    assert abs(np.corrcoef(z[:, 0], z_next[:, 0])[0, 1]) < 0.01
    assert abs(np.mean(z**4) - 3) < 0.1  # Gaussian tails, not just two moments


def test_every_backend_draws_the_same_noise_so_tracers_replayed_on_the_cpu_match_the_cloud():
    for backend in backends.available():
        run = finished({"preset": "rings", "sampler": "sde", "steps": 60}, backend=backend, steps=30)
        cloud = run.model.systems["sde"].sample(8)
        tracers = run.array("tracers")[:8]
        assert np.allclose(cloud, tracers, atol=2e-4), backend


def test_a_time_step_done_in_slices_equals_one_done_whole():
    schedule = VPSchedule()
    table = preset("blobs").component_table(schedule.alpha(0.4), schedule.sigma(0.4))
    coefficients = reverse_coefficients(schedule, 0.4, 0.01, stochastic=True)
    whole, sliced = ParticleSystem(3000, "numpy", seed=4), ParticleSystem(3000, "numpy", seed=4)
    whole.step(table, *coefficients, 1)
    for begin in range(0, 3000, 700):
        sliced.step(table, *coefficients, 1, begin, begin + 700)
    assert np.array_equal(whole.positions, sliced.positions)


# -- the samplers reach the target --------------------------------------------------------------


@pytest.mark.parametrize("backend", ["numpy", "numba", "glsl"])
def test_ode_and_sde_samples_reach_the_target_on_every_backend(backend):
    if backends.unavailable_reason(backend):
        pytest.skip(backends.unavailable_reason(backend))
    run = finished({"preset": "blobs", "steps": 200}, backend=backend)
    model = run.model
    assert model.done and model.t == 0.0
    for name in ("sde", "ode"):
        assert model.distances[name] < 2.0 * model.floor, (name, model.distances, model.floor)
        assert model.likelihood_gaps[name] < 0.3, (name, model.likelihood_gaps)
    # it really started as noise
    assert run.series("distance")[0] > 4 * model.floor and run.series("likelihood_gap")[0] > 2.0


def test_the_distance_falls_as_t_runs_down_to_zero():
    run = finished({"preset": "rings", "sampler": "ode", "steps": 100})
    distance, t = run.series("distance"), run.series("t")
    assert t[0] == 1.0 and t[-1] == 0.0 and np.all(np.diff(t) <= 0)
    assert distance[-1] < 0.2 * distance[0]


def test_ode_paths_are_smooth_and_sde_paths_jittery():
    run = finished({"preset": "rings", "steps": 200}, backend="numba")
    assert run.latest()["tortuosity_twin"] < 1.5  # the ODE's particles glide
    assert run.latest()["tortuosity"] > 5.0  # the SDE's particles jitter


def test_the_sde_and_the_ode_land_on_the_same_distribution_but_not_the_same_points():
    assert measured_outcome(LEVEL, "same_landing", backend="numba") == "the same distribution, different points"


def test_five_euler_steps_leave_the_cloud_off_target_and_fifty_do_not():
    assert measured_outcome(LEVEL, "five_steps", backend="numba") == "visibly off the target"
    run = finished({"preset": "rings", "sampler": "ode", "steps": 50}, backend="numba")
    assert run.model.measure_few_steps(run) == "as close as with many steps"
    assert run.model.likelihood_gaps["ode"] < 0.3


def test_at_mid_noise_a_particle_moves_toward_the_heavy_blob_and_near_t0_toward_the_nearer():
    assert measured_outcome(LEVEL, "which_way") == "right"
    run = make_runner(LEVEL, {**SMALL, "preset": "pair", "marker_x": -0.5, "marker_t": 0.02})
    assert run.model.measure_marker_direction(run) == "left"


def test_langevin_samples_the_noised_target_at_high_noise_but_gets_the_weights_wrong_at_low_noise():
    high = finished({"preset": "pair", "sampler": "langevin", "langevin_t": 0.3}, steps=300)
    assert high.model.on_target(high, "langevin")
    assert abs(high.model.measure_heavy_fraction(high) - 0.75) < 0.05
    low_fraction = measured_outcome(LEVEL, "langevin_weights")
    assert 0.4 < low_fraction < 0.6  # split by the starting side, not by the weights 25/75


def test_painting_a_blob_changes_the_target_and_particles_go_there():
    run = make_runner(LEVEL, {**SMALL, "preset": "pair", "sampler": "ode", "steps": 100})
    index = run.model.add_blob(0.0, 3.0, std=0.3, weight=1.0)  # as heavy as the rest together
    assert index == 2 and run.latest()["components"] == 2  # the observable updates on the next step
    run.step(100)
    sample = run.model.samples["ode"]
    near_new = np.linalg.norm(sample - [0.0, 3.0], axis=1) < 1.0
    assert 0.4 < near_new.mean() < 0.6 and run.latest()["components"] == 3
    run.model.move_blob(index, 0.0, -3.0)
    assert np.allclose(run.model.mixture.means[index], [0.0, -3.0])
    assert run.model.remove_blob(index) and run.model.mixture.n_components == 2


def test_editing_never_removes_the_last_component_and_stops_at_the_gpu_limit():
    mixture = GaussianMixture([1.0], [[0.0, 0.0]], [np.eye(2)])
    assert not mixture.remove(0)
    while mixture.add((0.0, 0.0)) >= 0:
        pass
    assert mixture.n_components == 512


def test_extreme_settings_stay_finite_or_report_divergence():
    for params in ({"steps": 1, "sampler": "sde+ode", "preset": "picture"},
                   {"sampler": "langevin", "langevin_t": 0.005, "langevin_step": 1.5, "preset": "letters"}):
        run = finished({**params, "particles": 1000}, steps=20)
        assert run.error is None
        assert run.diverged or all(math.isfinite(v) for v in run.latest().values())


def test_the_view_helpers_have_the_shapes_a_view_draws():
    run = make_runner(LEVEL, {**SMALL, "preset": "spiral"})
    points, scores = run.model.score_field(16)
    assert points.shape == scores.shape == (256, 2) and np.all(np.isfinite(scores))
    assert run.model.log_density_grid(32).shape == (32, 32)
    run.step(5)
    steps, paths = run.arrays("tracers_twin")
    assert list(steps) == [0, 1, 2, 3, 4, 5] and all(path.shape == (24, 2) for path in paths)
    assert run.model.marker_velocity().shape == (2,)


def test_the_witness_runs():
    runpy.run_path(str(Path(__file__).with_name("witness.py")), run_name="__main__")


# -- what the view draws, computed by the model ---------------------------------------------------


@pytest.mark.parametrize("backend", ["numpy", "numba", "glsl"])
def test_the_density_image_counts_the_cloud_where_it_lives_and_changes_once_a_time_step(backend):
    if backends.unavailable_reason(backend):
        pytest.skip(backends.unavailable_reason(backend))
    from cf_level_particle_shepherd.kernels import density_splat_reference
    from cf_level_particle_shepherd.model import EXTENT

    run = make_runner(LEVEL, {**SMALL, "preset": "pair", "sampler": "sde+ode"}, backend=backend)
    run.step(7)
    model = run.model
    image = model.density("ode", 64)
    assert model.density("ode", 64) is image, "the same time step: the same image, not a new splat"
    counts = image.counts if isinstance(image.counts, np.ndarray) else image.counts.read()
    expected = density_splat_reference(model.systems["ode"].positions, EXTENT, 64, 64)
    assert counts.dtype == np.uint32 and np.abs(counts - expected).sum() <= 4  # float32 edges may differ
    assert counts.sum() > 0.9 * model.count
    run.step(1)
    assert model.density("ode", 64) is not image
    model.release()


def test_the_density_resolution_and_colour_scale_follow_the_target_and_the_screen():
    run = make_runner(LEVEL, {"particles": 100_000, "preset": "rings"})
    model = run.model
    size = model.density_size(2000.0)
    assert 64 <= size <= 1024 and size % 32 == 0
    assert model.density_size(200.0) <= 224, "never finer than the screen"
    assert model.typical_count(size) == pytest.approx(100_000 / (4 * math.pi) * (8 / size) ** 2, rel=0.01)  # at t=1
    model = make_runner(LEVEL, {"particles": 100_000, "sampler": "langevin", "langevin_t": 0.1}).model
    law = model.mixture.noised(model.alpha, model.sigma)  # a typical particle sits at the mean density
    mean_density = np.exp(law.log_density(law.sample(50_000, np.random.default_rng(0)))).mean()
    assert model.typical_count(size) == pytest.approx(100_000 * mean_density * (8 / size) ** 2, rel=0.05)


def test_the_score_arrows_are_memoised_on_the_noise_level_and_fit_their_cells():
    run = make_runner(LEVEL, {**SMALL, "preset": "spiral", "steps": 1000})
    model = run.model
    arrows = model.score_arrows(13)
    points, vectors, strength = arrows
    assert points.shape == vectors.shape == (169, 2) and np.all((strength >= 0) & (strength < 1))
    assert np.all(np.linalg.norm(vectors, axis=1) <= 0.85 * 8.0 / 12 + 1e-9)
    run.step(2)  # t moves 0.002: below the resolution
    assert model.score_arrows(13) is arrows
    run.step(4)
    moved = model.score_arrows(13)
    assert moved is not arrows
    model.add_blob(0.0, 0.0)
    assert model.score_arrows(13) is not moved, "painting changes the field"


def test_the_run_records_the_tracers_the_measured_samples_and_the_mass_per_blob():
    run = finished({"preset": "pair", "sampler": "sde+ode", "steps": 100}, backend="numba")
    steps, paths = run.arrays("tracers")
    assert steps[0] == 0 and steps[-1] == 100 and paths[-1].shape == (24, 2)
    assert np.array_equal(run.array("sample"), run.model.samples["sde"])
    for name in ("mass", "mass_twin"):
        mass = run.array(name)
        assert mass.shape == (2,) and mass.sum() == pytest.approx(1.0)
    rings = make_runner(LEVEL, {**SMALL, "preset": "rings"})
    assert rings.array("mass").shape == (0,), "too many blobs to plot their masses"


def test_twins_compare_paired_particles_with_the_exact_spread_of_the_target():
    run = finished({"preset": "spiral", "sampler": "sde+ode", "steps": 100}, backend="numba")
    apart, spread = run.model.twins(run)
    assert spread == pytest.approx(np.sqrt(np.trace(np.cov(run.model.reference.T))), rel=0.05)
    assert 0.2 * spread < apart < 2 * spread
    single = finished({"preset": "spiral", "sampler": "ode", "steps": 10})
    assert single.model.twins(single) is None


def test_big_clouds_are_sliced_by_particle_counts_so_runs_repeat_exactly():
    def run_of(seed):
        run = make_runner(LEVEL, {"particles": 300_000, "sampler": "ode", "preset": "pair"}, seed=seed,
                          backend="numba")
        run.step(5)
        return run

    first, second = run_of(3), run_of(3)
    assert first.model.slice == 262_144 and first.model.time_step == 2 and first.model.cursor == 262_144
    assert np.array_equal(first.model.systems["ode"].positions, second.model.systems["ode"].positions)
    small = make_runner(LEVEL, {"particles": 100_000, "sampler": "sde+ode"})
    small.step(3)
    assert small.model.time_step == 3, "clouds that fit take a whole time step per step"


# -- the view ------------------------------------------------------------------------------------


def test_while_a_prediction_is_open_the_view_hides_the_marker_arrow_the_masses_and_the_twins(tmp_path, monkeypatch):
    # a window wide enough for all four plots (a narrow one keeps only distance and mass)
    with headless_app(LEVEL, tmp_path, {**SMALL, "preset": "pair"}, size=(1280, 720)) as app:
        host, view = app.host, app.host.view
        app.run_frames(12)
        assert view.marker_arrow() is not None and set(view.cloud_fractions()) == {"sde", "ode"}
        asked = []
        monkeypatch.setattr(type(view.model), "twins", lambda self, run: asked.append(run) or (1.0, 2.0))
        assert view.arrows_shown()
        for challenge in ("which_way", "langevin_weights"):
            open_challenge(app, challenge)
            assert view.challenge.choosing and view.challenge.hide_answers
            assert view.marker_arrow() is None and view.cloud_fractions() == {}
            # the score arrows point the way the flow goes: out only while that is the question
            assert view.arrows_shown() == (challenge != "which_way")
        drawn = []
        monkeypatch.setattr(sys.modules[type(view).__module__], "line", lambda label, *a, **k: drawn.append(label))
        open_challenge(app, "five_steps")
        drawn.clear()
        app.run_frames(1)
        assert drawn.count("SDE") == 1 and "noise floor" in drawn, "only the tortuosity: the distances answer it"
        assert host.challenges.lock(host.manifest.challenges["same_landing"], "the same points")
        host.requested_tab = "Play"  # the panel that shows the twins, while the challenge runs
        asked.clear()
        app.run_frames(3)
        assert view.challenge.running and not asked


def test_the_brush_paints_a_blob_and_the_marker_follows_a_drag(tmp_path):
    with headless_app(LEVEL, tmp_path, {**SMALL, "preset": "pair"}) as app:
        app.run_frames(2)
        host, view = app.host, app.host.view
        sx, sy, sw, sh = app.layout()["scene"]

        def screen(pane_index, point):
            fx, fy, fw, fh = view.panes()[pane_index].rect
            x, y = view.cam.world_to_screen(point, (int(fw * sw), int(fh * sh)))
            return sx + fx * sw + x, sy + fy * sh + y

        for event in (("mouse_pos", *screen(0, (0.0, 3.0))), ("mouse_button", 0, True), ("mouse_button", 0, False)):
            app.inject(*event)
        app.run_frames(6)
        assert host.runner.model.mixture.n_components == 3
        assert np.allclose(host.runner.model.mixture.means[2], [0.0, 3.0], atol=0.1)
        app.inject("mouse_pos", *screen(1, (-0.5, 0.0)))  # the marker, in the ODE's pane
        app.inject("mouse_button", 0, True)
        for k in range(1, 6):
            app.inject("mouse_pos", *screen(1, (-0.5 + 0.3 * k, -0.2 * k)))
        app.inject("mouse_button", 0, False)
        app.run_frames(12)
        assert host.runner.params["marker_x"] == pytest.approx(1.0, abs=0.1)
        assert host.runner.params["marker_y"] == pytest.approx(-1.0, abs=0.1)
        assert host.runner.model.mixture.n_components == 3


def test_the_blob_numbers_sit_on_plates_over_the_particles(tmp_path, monkeypatch):
    """A blob's number is drawn where its particles gather most densely: on a dark plate, or the
    density image swallows it."""
    with headless_app(LEVEL, tmp_path, {**SMALL, "preset": "pair"}) as app:
        app.run_frames(2)
        view, labels = app.host.view, []
        monkeypatch.setattr(sandbox.view.Frame, "text",
                            lambda self, draw_list, at, text, color=None, plate=True: labels.append((text, plate)))
        app.run_frames(1)
        numbers = [plate for text, plate in labels if text in ("1", "2")]
        assert len(numbers) == 2 * len(view.panes()) and all(numbers), labels
