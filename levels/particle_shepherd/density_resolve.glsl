// Particle counts (what the splat kernel's atomic adds leave in a storage buffer) into the
// colours of the density image, premultiplied by their opacity so that the image can be drawn
// with bilinear filtering (a small cloud then reads as a smooth density, not lone pixels).
// Runs once per splat, so the per-frame drawing is a single texture fetch per pixel.
layout(local_size_x = 16, local_size_y = 16) in;

#include "colormap.glsl"

layout(std430, binding = 2) readonly buffer Counts { uint counts[]; };
layout(rgba8, binding = 0) writeonly uniform image2D density;

uniform ivec2 size;
uniform float inverse_log_reference;  // 1 / log(1 + the count that maps to the top colour)

void main() {
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    if (any(greaterThanEqual(p, size))) return;
    float c = float(counts[p.y * size.x + p.x]);
    vec4 color = vec4(0.0);  // empty: transparent, so the score arrows underneath stay visible
    if (c > 0.0) {
        float v = clamp(log(1.0 + c) * inverse_log_reference, 0.0, 1.0);
        float opacity = clamp(0.35 + 2.0 * v, 0.0, 1.0);
        color = vec4(inferno(0.25 + 0.75 * v) * opacity, opacity);
    }
    imageStore(density, p, color);
}
