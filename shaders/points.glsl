// Round point sprites with a soft rim. Attributes: in_pos (world), in_color (rgba), in_size (pixels).

#if defined VERTEX_SHADER
uniform mat4 mvp;
uniform float size_scale;
in vec3 in_pos;
in vec4 in_color;
in float in_size;
out vec4 v_color;
void main() {
    gl_Position = mvp * vec4(in_pos, 1.0);
    gl_PointSize = in_size * size_scale;
    v_color = in_color;
}
#endif

#if defined FRAGMENT_SHADER
in vec4 v_color;
out vec4 frag;
void main() {
    vec2 p = gl_PointCoord * 2.0 - 1.0;
    float r = dot(p, p);
    if (r > 1.0) discard;
    float shade = 0.75 + 0.25 * (1.0 - r) - 0.2 * p.y;   // a little sphere-like shading
    frag = vec4(v_color.rgb * shade, v_color.a * smoothstep(1.0, 0.8, r));
}
#endif
