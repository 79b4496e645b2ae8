"""The Concept Projector in a few lines: on the stored model, a difference of means at layer 1
steers the next word from king to queen, close to linearly for small α, and a large tone α breaks
the text."""

import numpy as np

from levels.concept_projector import lm, world
from levels.concept_projector.model import checkpoint_path

run = lm.Run.load(checkpoint_path(0))
net, dirs = run.net, lm.directions(run.net)  # v = mean(female stories) − mean(male stories), per layer

prompt = world.encode("he lived in the palace with a book . the")
for alpha in (0.0, 0.5, 1.5):
    z = lm.steered_logits(net, prompt, {1: alpha * dirs["gender"][1]})
    print(f"α = {alpha}: next word {world.WORDS[int(np.argmax(z))]!r}, "
          f"logit(queen) − logit(king) = {z[world.INDEX['queen']] - z[world.INDEX['king']]:+.2f}")

flip = lm.flip_alpha(net, dirs, 1)
print(f"king becomes queen at α = {flip:.2f}")
assert 0.3 < flip < 2.0

small = np.linspace(-1.0, 1.0, 9)
d = lm.logit_difference(net, dirs, 1, small, "tone")  # angry − calm logit
slope, intercept = np.polyfit(small, d, 1)
assert slope > 0 and np.max(np.abs(slope * small + intercept - d)) < 0.05 * (d.max() - d.min())  # a line

calm = lm.grammatical_share(lm.generate(net, dirs, 2, {"tone": 1.0}))
wrecked = lm.grammatical_share(lm.generate(net, dirs, 2, {"tone": 4.0}))
print(f"grammatical word pairs at the last layer: α = 1: {calm:.0%}, α = 4: {wrecked:.0%}")
assert calm >= 0.95 and wrecked < 0.9
