// The exact score of a noised 2-D Gaussian mixture, the GLSL twin of sim/mixture.py.
// The component table (uniform block binding 1) holds two vec4 per component:
//   components[2k]     = (m_x, m_y, P_xx, P_xy)
//   components[2k + 1] = (P_yy, log w - 1/2 log det C, 0, 0)       with P = C^-1.
// A uniform block, not a storage buffer: every invocation reads the same component at the
// same time, which a uniform block serves as one broadcast load; on llvmpipe a storage
// buffer costs a gather per lane and ran 5-25x slower.
//
// POINTS_PER_INVOCATION points share each load of a component. On a GPU one point per
// invocation is right; on llvmpipe, whose per-iteration loop overhead is large, 8 points
// per invocation ran ~2x faster (sim.mixture.points_per_invocation picks it).

// MAX_COMPONENTS and POINTS_PER_INVOCATION are defined by sim.mixture.score_program.
layout(std140, binding = 1) uniform Components { vec4 components[2 * MAX_COMPONENTS]; };

uniform uint component_count;

// grad log p at each point, as a running log-sum-exp: each component folds in with a single
// exp, of -|logit - running max|, which rescales whichever of the two sides is smaller.
void mixture_scores(in vec2 x[POINTS_PER_INVOCATION], out vec2 score[POINTS_PER_INVOCATION]) {
    float total[POINTS_PER_INVOCATION];
    float running_max[POINTS_PER_INVOCATION];
    for (int p = 0; p < POINTS_PER_INVOCATION; ++p) {
        score[p] = vec2(0.0);
        total[p] = 0.0;
        running_max[p] = -1e30;  // the first component replaces it (its weight exp(-1e30) = 0)
    }
    for (uint k = 0u; k < component_count; ++k) {
        vec4 head = components[2u * k];
        vec2 tail = components[2u * k + 1u].xy;
        for (int p = 0; p < POINTS_PER_INVOCATION; ++p) {
            vec2 d = x[p] - head.xy;
            vec2 pd = vec2(head.z * d.x + head.w * d.y, head.w * d.x + tail.x * d.y);
            float logit = tail.y - 0.5 * dot(d, pd);
            float e = exp(-abs(logit - running_max[p]));
            bool new_max = logit > running_max[p];
            total[p] = new_max ? total[p] * e + 1.0 : total[p] + e;
            score[p] = new_max ? score[p] * e - pd : score[p] - e * pd;
            running_max[p] = max(running_max[p], logit);
        }
    }
    for (int p = 0; p < POINTS_PER_INVOCATION; ++p) {
        score[p] /= total[p];
    }
}
