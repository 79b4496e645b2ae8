"""Softmax and Surprise: the kernel, the model, the challenges and the view, as assertions.

The level's claims (level.toml [[claims]]) are checked across their ranges by claims.py, which the
engine's tests/test_claims.py runs; these are the rest: the draws' kernel on every backend, what
the challenges measure and what their explanations say, and what the view shows and hides.
"""

import itertools
import math
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from sandbox.challenges import ChallengeRun
from sandbox.manifest import load_manifest
from sandbox.testing import (
    headless_app,
    level,
    make_runner,
    measured_outcome,
    open_challenge,
    run_challenge,
)
from sandbox.view import Frame

LEVEL = "softmax_sampling"
HERE = Path(__file__).parent
ENTRY = level(LEVEL)
kernels = ENTRY.module("kernels")
model_module = ENTRY.module("model")
PROMPTS = list(model_module.PROMPTS)


# ---------------------------------------------------------------------------------------------
# the draws' kernel


@pytest.mark.parametrize("seed", range(4))
def test_every_backend_draws_exactly_the_oracles_tokens(seed):
    for backend in kernels.draw_counts.runnable():
        assert kernels.draw_counts.check(backend, seed=seed) is None


def test_cut_tokens_are_never_drawn_and_every_draw_lands():
    probs = np.array([0.0, 0.5, 0.0, 1e-9, 0.25, 0.25, 0.0])
    for backend in kernels.draw_counts.runnable():
        counts = kernels.draw_counts_for(probs, 3, 1, 200_000, backend)
        assert counts.sum() == 200_000
        assert np.all(counts[probs == 0] == 0), f"{backend} drew a token of probability 0"
        assert counts[3] == 0, "a probability below 2^-24 rounds to nothing"
    one = kernels.draw_counts_for(np.array([0.0, 0.0, 2.0]), 0, 0, 1000)
    assert one.tolist() == [0, 0, 1000], "probabilities are normalised, and one token takes every draw"
    assert kernels.draw_counts_for(np.ones(4), 0, 0, 0).tolist() == [0, 0, 0, 0]


def test_the_draws_follow_the_probabilities():
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    counts = kernels.draw_counts_for(probs, 9, 2, 400_000)
    assert np.allclose(counts / counts.sum(), probs, atol=4 * np.sqrt(0.25 / 400_000))


@pytest.mark.parametrize("bad", [[], [0.0, 0.0], [0.5, -0.1], [np.nan, 1.0], [np.inf, 1.0]])
def test_impossible_probabilities_are_refused_with_one_line(bad):
    with pytest.raises(ValueError, match="finite, non-negative and not all zero"):
        kernels.thresholds(bad)


def test_steps_and_seeds_draw_different_tokens_and_a_seed_repeats():
    probs = np.full(12, 1 / 12)
    a, b, c = (kernels.draw_counts_for(probs, s, k, 5000) for s, k in ((0, 0), (0, 1), (1, 0)))
    assert not np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(a, kernels.draw_counts_for(probs, 0, 0, 5000))
    first, again = make_runner(LEVEL, seed=5), make_runner(LEVEL, seed=5)
    first.step(20)
    again.step(20)
    assert np.array_equal(first.model.counts, again.model.counts)


# ---------------------------------------------------------------------------------------------
# the model


def test_each_lesson_draws_from_what_it_shows():
    for lesson, size in (("sampling", 12), ("surprise", 12), ("mutual information", 36)):
        run = make_runner(LEVEL, {"lesson": lesson, "draws": 500})
        run.step(9)
        model = run.model
        pic = model.picture()
        assert len(pic.drawn) == size and abs(pic.drawn.sum() - 1) < 1e-12
        assert model.samples == 5000 == run.series("samples")[-1]
        assert run.series("samples").tolist() == [500.0 * (k + 1) for k in range(10)]
        assert run.array("counts").shape == (size,)
        assert abs(run.series("histogram_error")[-1] - 0.5 * np.abs(model.counts / 5000 - pic.drawn).sum()) < 1e-12


def test_the_surprise_lessons_data_is_the_prompt_at_t_1_whatever_t():
    for temperature in (0.3, 1.0, 4.0):
        run = make_runner(LEVEL, {"lesson": "surprise", "temperature": temperature})
        pic = run.model.picture()
        assert np.allclose(pic.drawn, model_module.softmax(model_module.PROMPTS[PROMPTS[0]]))
        assert np.allclose(pic.q, model_module.softmax(model_module.PROMPTS[PROMPTS[0]], temperature))


def test_the_mutual_information_lesson_scores_each_token_given_its_prompt():
    run = make_runner(LEVEL, {"lesson": "mutual information", "draws": 3000})
    run.step(30)
    model = run.model
    table = model.counts.reshape(3, 12)
    expected = -(table * np.log(model_module.conditional_table(1.0))).sum() / table.sum()
    assert abs(run.series("mean_surprise")[-1] - expected) < 1e-12
    assert abs(run.series("mean_surprise")[-1] - run.series("cross_entropy")[-1]) < 0.02
    shares = model.token_frequencies()
    assert shares.shape == (3, 12) and np.allclose(shares.sum(axis=1), 1)
    estimates = model.estimates()
    assert estimates.shape == (31, 2) and estimates[-1, 0] == 93000
    assert estimates[-1, 1] == pytest.approx(model.information_estimate())


def test_the_estimates_kept_for_the_plot_stay_bounded(monkeypatch):
    run = make_runner(LEVEL, {"lesson": "mutual information", "draws": 1})
    # the module the run's model came from (the level may have been imported again by another test)
    monkeypatch.setattr(sys.modules[type(run.model).__module__], "ESTIMATES_KEPT", 64)
    run.step(300)
    estimates = run.model.estimates()
    assert len(estimates) <= 64 and estimates[-1, 0] == run.model.samples
    assert np.all(np.diff(estimates[:, 0]) > 0)


def test_every_parameter_at_both_ends_runs_finite():
    params = load_manifest(HERE).params
    numeric = ["temperature", "top_p", "top_k", "draws"]
    settings = ([{"lesson": "sampling", "strategy": s} for s in params["strategy"].choices]
                + [{"lesson": "surprise", "model": m} for m in params["model"].choices]
                + [{"lesson": "mutual information"}])
    for setting in settings:
        for values in itertools.product(*[(params[n].min, params[n].max) for n in numeric]):
            run = make_runner(LEVEL, {**setting, **dict(zip(numeric, values))})
            run.step(1)
            assert run.error is None and not run.diverged, (setting, values)
            assert all(math.isfinite(v) for v in run.latest().values())


def test_a_live_change_of_draws_per_step_keeps_the_counts():
    run = make_runner(LEVEL, {"draws": 10})
    run.step(4)
    run.set_param("draws", 100)
    run.step(1)
    assert run.model.samples == 150


# ---------------------------------------------------------------------------------------------
# challenges: measured from their runs; what the questions and explanations state is what they show


def finished(challenge_id):
    challenge = ENTRY.manifest.challenges[challenge_id]
    attempt = ChallengeRun(ENTRY, challenge)
    attempt.lock(challenge.choices[0] if challenge.kind == "choice" else 0.0)
    attempt.finish()
    return attempt


def numbers(text):
    return [float(x) for x in re.findall(r"(?<![\w.])\d+(?:\.\d+)?", text)]


def test_top_p_at_t_2_keeps_8_where_t_1_keeps_the_4_the_question_states():
    attempt = finished("top_p_hotter")
    assert attempt.verdict.measured == 8
    assert "keeps the 4 tokens" in attempt.challenge.question
    at_one = make_runner(LEVEL, {**attempt.challenge.set, "temperature": 1.0})
    assert at_one.series("kept")[-1] == 4
    top = np.sort(attempt.runner.model.picture().full)[::-1]
    assert "from 0.45 to 0.27" in attempt.challenge.explain and round(top[0], 2) == 0.27
    verdict = run_challenge(LEVEL, "top_p_hotter", 5, confidence=0.9)
    assert not verdict.correct and verdict.mistake == "too_low"


def test_effective_choices_is_e_to_the_entropy():
    attempt = finished("effective_choices")
    pic = attempt.runner.model.picture()
    assert attempt.verdict.measured == pytest.approx(math.exp(pic.entropy)) == pytest.approx(3.64, abs=0.01)
    explain = attempt.challenge.explain
    top = np.sort(pic.drawn)[::-1]
    assert f"H = {pic.entropy:.2f} nats" in explain and f"e^H = {math.exp(pic.entropy):.1f}" in explain
    assert "(" + ", ".join(f"{v:.2f}" for v in top[:3]) + ")" in explain
    assert f"{round(100 * top[:3].sum())}% of the mass" in explain and f"last {round(100 * top[3:].sum())}%" in explain
    assert run_challenge(LEVEL, "effective_choices", 3.5).correct
    assert not run_challenge(LEVEL, "effective_choices", 3.0).correct


@pytest.mark.parametrize("challenge_id, larger", [("kl_overconfident", "KL(p‖q)"), ("kl_hedging", "KL(q‖p)")])
def test_which_kl_is_larger_flips_with_the_models_temperature(challenge_id, larger):
    attempt = finished(challenge_id)
    run = attempt.runner
    forward, backward = run.series("kl_pq")[-1], run.series("kl_qp")[-1]
    assert attempt.verdict.measured == larger
    explain = attempt.challenge.explain
    assert f"KL(p‖q) = {forward:.2f}" in explain and f"KL(q‖p) = {backward:.2f}" in explain
    wrong = next(c for c in attempt.challenge.choices if c != larger)
    verdict = run_challenge(LEVEL, challenge_id, wrong)
    assert not verdict.correct and verdict.hint


def test_the_overconfident_models_top_token_is_1_5_times_the_datas():
    pic = finished("kl_overconfident").runner.model.picture()
    top = int(np.argmax(pic.full))
    assert "only 1.5 times p" in ENTRY.manifest.challenges["kl_overconfident"].explain
    assert round(pic.q[top] / pic.full[top], 1) == 1.5


def test_the_hedging_explanations_token_is_one_the_model_overweights():
    run = finished("kl_hedging").runner
    pic = run.model.picture()
    eggs = model_module.VOCABULARY.index("eggs")
    assert pic.q[eggs] > 5 * pic.full[eggs]


def test_a_uniform_models_perplexity_is_12_on_the_challenges_text():
    attempt = finished("uniform_perplexity")
    assert attempt.verdict.measured == pytest.approx(12.0, abs=1e-9)
    assert attempt.runner.series("samples")[-1] == pytest.approx(10_000, rel=0.02)  # "about 10 000 tokens"
    assert run_challenge(LEVEL, "uniform_perplexity", 12).correct
    assert run_challenge(LEVEL, "uniform_perplexity", 4.47).mistake == "too_low"


def test_the_prompt_tells_ln_3_at_t_0_05():
    attempt = finished("prompt_information")
    assert attempt.verdict.measured == pytest.approx(math.log(3), abs=1e-4)
    assert "(measured 1.0986)" in attempt.challenge.explain
    at_one = make_runner(LEVEL, {"lesson": "mutual information", "temperature": 1.0})
    assert "falls to 0.92" in attempt.challenge.explain and round(at_one.series("information")[-1], 2) == 0.92
    assert run_challenge(LEVEL, "prompt_information", 1.1).correct


def test_every_challenge_is_measured_by_a_method_of_the_model():
    model_class = ENTRY.model_class()
    for challenge in ENTRY.manifest.challenges.values():
        assert hasattr(model_class, f"measure_{challenge.measure}")
        assert measured_outcome(LEVEL, challenge.id) is not None


# ---------------------------------------------------------------------------------------------
# the view: what it shows, and what it hides while a prediction is open


class Recorder:
    """Every text the scene draws (with its box in pane units) and every plot strip's titles."""

    def __init__(self, monkeypatch, app=None):
        from imgui_bundle import imgui

        self.texts, self.strips = [], []
        text = Frame.text

        def record(frame, draw_list, at, words, *args, **kwargs):
            width, height = frame.size
            w, h = imgui.calc_text_size(words)
            x, y = max(min(at[0], width - w - 4.0), 4.0), max(min(at[1], height - h - 4.0), 4.0)
            self.texts.append((words, x, y, x + w, y + h, width, height))
            return text(frame, draw_list, at, words, *args, **kwargs)

        monkeypatch.setattr(Frame, "text", record)
        self.monkeypatch = monkeypatch

    def watch_plots(self, app):
        view_module = sys.modules[type(app.host.view).__module__]
        self.monkeypatch.setattr(view_module, "plot_strip", lambda context, plots: self.strips.append(
            [p if isinstance(p, str) else p.title for p in plots]))

    def frame(self, app):
        self.texts.clear()
        app.run_frames(1)
        return " | ".join(t[0] for t in self.texts)


HIDDEN_WORDS = {
    "top_p_hotter": ["keeps 8", "draws"],
    "effective_choices": ["perplexity e^H", "H = 1.29", "e^H ="],
    "kl_overconfident": ["KL(p‖q) 0.27", "KL(q‖p) 0.16", "0.270", "0.164", "H(p, q) ="],
    "kl_hedging": ["0.175", "0.247", "KL(p‖q) 0.17", "H(p, q) ="],
    "uniform_perplexity": ["PPL", "perplexity 12", "−log q = 2.485"],
    "prompt_information": ["I 1.099", "I = 1.099", "H = ", "Î ="],
}


def test_while_a_prediction_is_open_the_scene_shows_the_setup_without_its_answer(tmp_path, monkeypatch):
    recorder = Recorder(monkeypatch)
    with headless_app(LEVEL, tmp_path, size=(960, 600)) as app:
        recorder.watch_plots(app)
        app.run_frames(5)
        for challenge_id, words_hidden in HIDDEN_WORDS.items():
            open_challenge(app, challenge_id)
            shown = recorder.frame(app)
            assert app.host.view.challenge.choosing
            assert "the question's setup" in shown
            for words in words_hidden:
                assert words not in shown, f"{challenge_id}: {words!r} gives the answer away: {shown}"
            titles = recorder.strips[-1]
            assert not any(t in titles for t in ("draws vs theory", "measured cross-entropy", "estimate from pairs"))
            if challenge_id != "top_p_hotter":
                assert not any(t in titles for t in ("entropy vs T", "model at temperature T", "information vs T"))


def test_the_top_p_setup_shows_t_1_and_its_4_tokens_and_the_run_hides_the_cut(tmp_path, monkeypatch):
    recorder = Recorder(monkeypatch)
    with headless_app(LEVEL, tmp_path, size=(960, 600)) as app:
        open_challenge(app, "top_p_hotter")
        shown = recorder.frame(app)
        assert "T = 1.00" in shown and "keeps 4" in shown and "it asks about T = 2" in shown
        panel = app.host.challenges
        panel.number_text = "6"
        panel.lock(app.host.manifest.challenges["top_p_hotter"])
        app.run_frames(3)
        assert app.host.view.challenge.running
        shown = recorder.frame(app)
        assert "T = 2.00" in shown and "keeps" not in shown and "cut" not in shown
        app.host.view.transport.set_speed("fastest")
        for _ in range(400):
            if panel.attempt.verdict is not None:
                break
            app.run_frames(1)
        assert app.host.view.challenge.revealed
        shown = recorder.frame(app)
        assert "keeps 8" in shown


@pytest.mark.parametrize("size, scale, least", [((960, 600), 1.0, (9, 9)), ((1280, 720), 2.0, (5, 4)),
                                                 ((960, 600), 2.0, (2, 2))])
def test_scene_text_never_overlaps_and_fits_the_pane(tmp_path, monkeypatch, size, scale, least):
    """At every size and UI scale no text runs into another or out of the pane, and at least ``least``
    tokens keep a row of their own (the rest are summed in one): ``(rows, table)``, as the table's headings
    take a line more."""
    from sandbox.app import App
    from sandbox.progress import Progress

    recorder = Recorder(monkeypatch)
    app = App(size=size, headless=True, level=LEVEL, ui_scale=scale, progress=Progress(Path(tmp_path) / "p.db"))
    try:
        for lesson in ("sampling", "surprise", "mutual information"):
            app.host.runner.set_param("lesson", lesson)
            app.run_frames(4)  # the camera's fit and the panels settle
            recorder.frame(app)
            assert app.host.error is None, app.host.error
            boxes = recorder.texts
            clash = [(a[0], b[0]) for a, b in itertools.combinations(boxes, 2)
                     if min(a[3], b[3]) - max(a[1], b[1]) > 1.0 and min(a[4], b[4]) - max(a[2], b[2]) > 1.0]
            assert clash == [], (lesson, clash)
            assert [b[0] for b in boxes if b[3] > b[5] + 0.5 or b[4] > b[6] + 0.5] == [], lesson
            words = {b[0] for b in boxes}
            rows = least[1] if lesson == "mutual information" else least[0]
            assert sum(w in words for w in model_module.VOCABULARY) >= rows, (lesson, sorted(words))
    finally:
        app.shutdown()


def test_hovering_a_token_names_its_logit_and_surprise_within_the_pane(tmp_path, monkeypatch):
    from sandbox.app import App
    from sandbox.progress import Progress

    recorder = Recorder(monkeypatch)
    app = App(size=(1280, 720), headless=True, level=LEVEL, ui_scale=2.0, progress=Progress(Path(tmp_path) / "p.db"))
    try:
        view = app.host.view
        for lesson, wanted in (("sampling", ["mat: logit +3.00", "z/T = +3.00", "surprise −log p"]),
                               ("surprise", ["mat: logit +3.00", "q = 0.454", "surprise −log q"]),
                               ("mutual information", ["mat: P(token | prompt)", "cat 0.454", "no prompt 0.153"])):
            app.host.runner.set_param("lesson", lesson)
            app.run_frames(4)
            top, bottom, _ = next(r for r in view._rows if r[2].label == "mat")
            monkeypatch.setattr(view, "handle_input",
                                lambda frame, y=0.5 * (top + bottom): setattr(view, "_mouse", (200.0, y)) or True)
            shown = recorder.frame(app)
            for words in wanted:
                assert words in shown, (lesson, words, shown)
            assert [b[0] for b in recorder.texts if b[3] > b[5] + 0.5 or b[4] > b[6] + 0.5] == [], lesson
    finally:
        app.shutdown()


def test_the_manifest_states_what_the_model_measures():
    manifest = load_manifest(HERE)
    assert manifest.pillar == "foundations"
    assert set(manifest.params["prompt"].choices) == set(PROMPTS)
    assert manifest.params["top_k"].max == len(model_module.VOCABULARY)
    assert tuple(manifest.params["lesson"].choices) == model_module.LESSONS
    assert tuple(manifest.params["strategy"].choices) == model_module.STRATEGIES
    assert tuple(manifest.params["model"].choices) == model_module.MODELS


def test_witness_runs_and_asserts_the_claims(capsys):
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "top-p 0.9 keeps 8" in out and "= V = 12" in out and "I(prompt; token) = 1.0986" in out
