// Filled triangles in flat per-vertex colours. Attributes: in_pos (world), in_color (rgba).

#if defined VERTEX_SHADER
uniform mat4 mvp;
in vec3 in_pos;
in vec4 in_color;
out vec4 v_color;
void main() {
    gl_Position = mvp * vec4(in_pos, 1.0);
    v_color = in_color;
}
#endif

#if defined FRAGMENT_SHADER
in vec4 v_color;
out vec4 frag;
void main() {
    frag = v_color;
}
#endif
