// A picture drawn as a grid of cells on a world-space rectangle: one RGBA float texture holding
// each cell's colour (row 0 at the top), one quad of four vertices made from gl_VertexID (no
// vertex buffer). The colours are made in numpy (the view's colour maps); the shader only places
// them, so a 40x40 picture costs one draw call instead of 1,600 rectangles.

#if defined VERTEX_SHADER
uniform mat4 mvp;
uniform vec4 edges;  // world x0, x1 (left, right), y0, y1 (bottom, top)
uniform sampler2D colors;
out vec2 v_cell;     // (column, row) in cells, row 0 at the top
void main() {
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1);  // a triangle strip: (0,0) (1,0) (0,1) (1,1)
    gl_Position = mvp * vec4(mix(edges.xz, edges.yw, corner), 0.0, 1.0);
    v_cell = vec2(corner.x, 1.0 - corner.y) * vec2(textureSize(colors, 0));
}
#endif

#if defined FRAGMENT_SHADER
uniform sampler2D colors;
in vec2 v_cell;
out vec4 frag;
void main() {
    ivec2 size = textureSize(colors, 0);
    ivec2 cell = clamp(ivec2(floor(v_cell)), ivec2(0), size - 1);
    frag = texelFetch(colors, cell, 0);
}
#endif
