// The exact mixture score at a list of points (kernel "mixture_score").
layout(local_size_x = LOCAL_SIZE) in;

#include "include/hash_rng.glsl"
#include "include/gaussian_mixture.glsl"

layout(std430, binding = 0) readonly buffer Points { vec2 points[]; };
layout(std430, binding = 2) writeonly buffer Scores { vec2 scores[]; };

uniform uint count;

void main() {
    uint first = flat_invocation_index() * uint(POINTS_PER_INVOCATION);
    if (first >= count) return;
    vec2 x[POINTS_PER_INVOCATION];
    vec2 score[POINTS_PER_INVOCATION];
    for (int p = 0; p < POINTS_PER_INVOCATION; ++p) {
        x[p] = points[min(first + uint(p), count - 1u)];  // the tail repeats the last point
    }
    mixture_scores(x, score);
    for (int p = 0; p < POINTS_PER_INVOCATION && first + uint(p) < count; ++p) {
        scores[first + uint(p)] = score[p];
    }
}
