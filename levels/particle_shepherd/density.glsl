// A cloud's density image: one quad over the square the model splatted its particles into,
// coloured from the counts per pixel (log scale, inferno, opacity growing with the count) and
// filtered bilinearly by hand (an integer texture cannot be), premultiplied by opacity so that
// a small cloud reads as a smooth density, not lone pixels. Row 0 is the bottom. The quad needs
// no vertex buffer: its corners come from gl_VertexID.

#if defined VERTEX_SHADER
uniform mat4 mvp;
uniform vec4 extent;   // x0, x1, y0, y1 of the splatted square
out vec2 v_uv;
void main() {
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1);
    v_uv = corner;
    gl_Position = mvp * vec4(mix(extent.x, extent.y, corner.x), mix(extent.z, extent.w, corner.y), 0.0, 1.0);
}
#endif

#if defined FRAGMENT_SHADER
#include "colormap.glsl"

uniform usampler2D counts;
uniform float inverse_log_reference;  // 1 / log(1 + the count that maps to the top colour)
in vec2 v_uv;
out vec4 frag;

vec4 shade(ivec2 p) {
    if (any(lessThan(p, ivec2(0))) || any(greaterThanEqual(p, textureSize(counts, 0)))) return vec4(0.0);
    float c = float(texelFetch(counts, p, 0).r);
    if (c <= 0.0) return vec4(0.0);  // empty: transparent, so the score arrows underneath stay visible
    float v = clamp(log(1.0 + c) * inverse_log_reference, 0.0, 1.0);
    float opacity = clamp(0.35 + 2.0 * v, 0.0, 1.0);
    return vec4(inferno(0.25 + 0.75 * v) * opacity, opacity);
}

void main() {
    vec2 p = v_uv * vec2(textureSize(counts, 0)) - 0.5;
    ivec2 i = ivec2(floor(p));
    vec2 f = p - floor(p);
    frag = mix(mix(shade(i), shade(i + ivec2(1, 0)), f.x), mix(shade(i + ivec2(0, 1)), shade(i + ivec2(1, 1)), f.x), f.y);
    if (frag.a < 0.02) discard;  // empty (the filter's faint fringe around a lone particle included)
}
#endif
