// The particle cloud as a density image: one quad over a panel's square, showing the colours
// the resolve pass made of the splat's counts (premultiplied by opacity, filtered bilinearly,
// row 0 at the bottom). The quad needs no vertex buffer: its corners come from gl_VertexID.

#if defined VERTEX_SHADER
uniform mat4 mvp;
uniform vec4 extent;   // x0, x1, y0, y1 of the splatted square (target coordinates)
uniform vec2 offset;   // where the panel sits in the scene (world = target + offset)
out vec2 v_uv;
void main() {
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1);
    v_uv = corner;
    vec2 world = vec2(mix(extent.x, extent.y, corner.x), mix(extent.z, extent.w, corner.y)) + offset;
    gl_Position = mvp * vec4(world, 0.0, 1.0);
}
#endif

#if defined FRAGMENT_SHADER
uniform sampler2D density;
in vec2 v_uv;
out vec4 frag;

void main() {
    frag = texture(density, v_uv);
    if (frag.a < 0.02) discard;  // empty (the filter's faint fringe around a lone particle included)
}
#endif
