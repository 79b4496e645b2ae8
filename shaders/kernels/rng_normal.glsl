// Standard normal pairs for indices 0..count-1 of one step (kernel "rng_normal").
layout(local_size_x = LOCAL_SIZE) in;

#include "include/hash_rng.glsl"

layout(std430, binding = 0) writeonly buffer Normals { vec2 normals[]; };

uniform uint key;
uniform uint count;

void main() {
    uint i = flat_invocation_index();
    if (i >= count) return;
    normals[i] = hash_normal2(key, i);
}
