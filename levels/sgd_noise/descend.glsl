// Kernel "sgd_noise_descend": one invocation per SGD run ("particle"), all steps in one dispatch.
// Each step draws the run's mini-batch with the same counter-based bits as the CPU (a partial
// Fisher-Yates shuffle without replacement, bits mod N with it), averages the examples'
// gradients of the shifted two-minimum loss, and takes one step.
layout(local_size_x = LOCAL_SIZE) in;

#include "kernels/include/hash_rng.glsl"

layout(std430, binding = 0) buffer Positions { vec2 theta[]; };
layout(std430, binding = 1) readonly buffer Rates { float lrs[]; };
layout(std430, binding = 2) readonly buffer Sizes { uint sizes[]; };
layout(std430, binding = 3) readonly buffer Shifts { vec2 shifts[]; };
layout(std430, binding = 4) readonly buffer Keys { uint keys[]; };

uniform uint count;
uniform uint examples;
uniform int steps;
uniform int replace_draws;
uniform float bowl;
uniform vec4 sharp_well;  // centre x, centre y, width, depth
uniform vec4 flat_well;

vec2 grad0(vec2 u) {
    vec2 a = u - sharp_well.xy;
    vec2 b = u - flat_well.xy;
    float es = sharp_well.w * exp(-dot(a, a) / (2.0 * sharp_well.z * sharp_well.z)) / (sharp_well.z * sharp_well.z);
    float ef = flat_well.w * exp(-dot(b, b) / (2.0 * flat_well.z * flat_well.z)) / (flat_well.z * flat_well.z);
    return bowl * u + es * a + ef * b;
}

void main() {
    uint p = gl_GlobalInvocationID.x;
    if (p >= count) return;
    vec2 x = theta[p];
    uint size = sizes[p];
    uint perm[MAX_N];
    for (int t = 0; t < steps; ++t) {
        for (uint q = 0u; q < examples; ++q) perm[q] = q;
        vec2 g = vec2(0.0);
        for (uint j = 0u; j < size; ++j) {
            uint bits = pcg_hash(keys[t] ^ pcg_hash(p * examples + j));
            uint pick;
            if (replace_draws != 0) {
                pick = bits % examples;
            } else {
                uint r = j + bits % (examples - j);
                uint tmp = perm[j];
                perm[j] = perm[r];
                perm[r] = tmp;
                pick = perm[j];
            }
            g += grad0(x - shifts[pick]);
        }
        x -= lrs[p] * g / float(size);
    }
    theta[p] = x;
}
