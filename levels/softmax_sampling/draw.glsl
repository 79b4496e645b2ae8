// Kernel "softmax_sampling_draw": one invocation per draw. The draw's 24 uniform bits come from
// the PCG hash of (key, index), as on the CPU; the token is the first whose cumulative
// threshold (in units of 2^-24) lies above them; its count goes up by one.
layout(local_size_x = LOCAL_SIZE) in;

#include "kernels/include/hash_rng.glsl"

layout(std430, binding = 0) readonly buffer Thresholds { uint thresholds[]; };
layout(std430, binding = 1) buffer Counts { uint counts[]; };

uniform uint key;
uniform uint count;
uniform uint outcomes;

void main() {
    uint i = flat_invocation_index();
    if (i >= count) return;
    uint bits = pcg_hash(key ^ pcg_hash(i)) >> 8u;
    uint lo = 0u;
    uint hi = outcomes - 1u;
    while (lo < hi) {
        uint mid = (lo + hi) / 2u;
        if (bits < thresholds[mid]) hi = mid; else lo = mid + 1u;
    }
    atomicAdd(counts[lo], 1u);
}
