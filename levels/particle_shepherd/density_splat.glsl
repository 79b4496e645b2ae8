// Particle counts per pixel (kernel "density_splat"): the cloud as a density image that a
// view draws with a colour map; row 0 is the bottom (GL texture order).
layout(local_size_x = LOCAL_SIZE) in;

#include "kernels/include/hash_rng.glsl"

layout(std430, binding = 0) readonly buffer Particles { vec2 particles[]; };
layout(std430, binding = 2) buffer Counts { uint counts[]; };

uniform uint count;
uniform vec2 origin;           // world coordinates of the lower-left corner
uniform vec2 pixels_per_unit;
uniform ivec2 size;

void main() {
    uint i = flat_invocation_index();
    if (i >= count) return;
    ivec2 pixel = ivec2(floor((particles[i] - origin) * pixels_per_unit));
    if (all(greaterThanEqual(pixel, ivec2(0))) && all(lessThan(pixel, size))) {
        atomicAdd(counts[pixel.y * size.x + pixel.x], 1u);
    }
}
