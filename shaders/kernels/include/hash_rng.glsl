// Counter-based random numbers, the GLSL twin of sim/rng.py: the same 32-bit PCG hash, so
// every backend draws the same uniform bits for (key, index).

uint pcg_hash(uint v) {
    uint state = v * 747796405u + 2891336453u;
    uint word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// Two independent standard normals for `index` under the per-step `key` (Box-Muller).
vec2 hash_normal2(uint key, uint index) {
    uint h = pcg_hash(key ^ pcg_hash(index));
    // 24 bits convert to float exactly; the half offset keeps u1 away from 0 (log(0)).
    float u1 = (float(h >> 8u) + 0.5) * (1.0 / 16777216.0);
    float u2 = float(pcg_hash(h) >> 8u) * (1.0 / 16777216.0);
    float radius = sqrt(-2.0 * log(u1));
    float angle = 6.28318530718 * u2;
    return radius * vec2(cos(angle), sin(angle));
}

// The flat invocation index of a 2-D dispatch (see sim.rng.dispatch_size). Include this file
// after the layout(local_size_x = ...) declaration: gl_WorkGroupSize is defined by it.
uint flat_invocation_index() {
    uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    return group * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}
