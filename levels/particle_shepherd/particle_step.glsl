// One step of every particle: x <- a x + b score(x) + c z (kernel "particle_step").
// The same form covers the reverse SDE, the probability-flow ODE and Langevin dynamics
// (see kernels.py for the coefficients); the particles never leave this buffer.
layout(local_size_x = LOCAL_SIZE) in;

#include "kernels/include/hash_rng.glsl"
#include "kernels/include/gaussian_mixture.glsl"

layout(std430, binding = 0) buffer Particles { vec2 particles[]; };

uniform uint begin;  // this dispatch steps particles begin..end-1 (a frame may do a slice)
uniform uint end;
uniform uint key;
uniform float drift_scale;  // a
uniform float score_scale;  // b
uniform float noise_scale;  // c (0 for the ODE: no noise drawn)

void main() {
    uint first = begin + flat_invocation_index() * uint(POINTS_PER_INVOCATION);
    if (first >= end) return;
    vec2 x[POINTS_PER_INVOCATION];
    vec2 score[POINTS_PER_INVOCATION];
    for (int p = 0; p < POINTS_PER_INVOCATION; ++p) {
        x[p] = particles[min(first + uint(p), end - 1u)];  // the tail repeats the last particle
    }
    mixture_scores(x, score);
    for (int p = 0; p < POINTS_PER_INVOCATION && first + uint(p) < end; ++p) {
        uint i = first + uint(p);
        vec2 next = drift_scale * x[p] + score_scale * score[p];
        if (noise_scale != 0.0) {
            next += noise_scale * hash_normal2(key, i);
        }
        particles[i] = next;
    }
}
