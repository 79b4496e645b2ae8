// A matrix drawn as a grid of cells on a world-space rectangle: one float texture, one quad of
// four vertices made from gl_VertexID (no vertex buffer). The values come already scaled: [0, 1]
// for the sequential map (viridis), [-1, 1] for the signed one. NaN marks a cell that does not
// exist (above the causal diagonal). Rows from `shown` on are drawn faint: the tokens the cursor
// has not reached yet.
#include "colormap.glsl"

#if defined VERTEX_SHADER
uniform mat4 mvp;
uniform vec4 edges;  // world x0, x1 (left, right), y0, y1 (bottom, top)
uniform sampler2D values;
out vec2 v_cell;    // (column, row) in cells, row 0 at the top
void main() {
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1);  // a triangle strip: (0,0) (1,0) (0,1) (1,1)
    gl_Position = mvp * vec4(mix(edges.xz, edges.yw, corner), 0.0, 1.0);
    v_cell = vec2(corner.x, 1.0 - corner.y) * vec2(textureSize(values, 0));
}
#endif

#if defined FRAGMENT_SHADER
uniform sampler2D values;
uniform int signed_map;  // 1: negative blue, zero dark, positive orange
uniform float shown;     // rows computed so far
in vec2 v_cell;
out vec4 frag;

vec3 diverging(float v) {
    vec3 zero = vec3(0.16, 0.17, 0.20);
    vec3 positive = vec3(1.0, 0.62, 0.22);
    vec3 negative = vec3(0.30, 0.65, 1.0);
    float t = clamp(abs(v), 0.0, 1.0);
    return mix(zero, v >= 0.0 ? positive : negative, sqrt(t));
}

void main() {
    ivec2 size = textureSize(values, 0);
    ivec2 cell = clamp(ivec2(floor(v_cell)), ivec2(0), size - 1);
    float v = texelFetch(values, cell, 0).r;
    vec3 color = isnan(v) ? vec3(0.11, 0.12, 0.15) : (signed_map == 1 ? diverging(v) : viridis(v));
    float a = float(cell.y) >= shown ? 0.16 : 1.0;
    // Thin dark lines between cells once a cell is big enough on screen to need them.
    vec2 pixels_per_cell = 1.0 / max(fwidth(v_cell), vec2(1e-6));
    vec2 from_edge = min(fract(v_cell), 1.0 - fract(v_cell)) * pixels_per_cell;
    if (min(pixels_per_cell.x, pixels_per_cell.y) > 7.0 && min(from_edge.x, from_edge.y) < 0.6) {
        color *= 0.45;
    }
    frag = vec4(color, a);
}
#endif
