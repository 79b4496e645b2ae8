// Thick anti-aliased polylines: each segment is expanded to a screen-space quad.
// Vertex attributes: in_pos (world), in_color (rgba). Drawn as GL_LINES or GL_LINE_STRIP.

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

#if defined GEOMETRY_SHADER
layout(lines) in;
layout(triangle_strip, max_vertices = 4) out;
uniform vec2 viewport;     // pixels
uniform float thickness;   // pixels
in vec4 v_color[];
out vec4 g_color;
out float g_edge;          // -1..1 across the line, for anti-aliasing
void main() {
    vec4 a = gl_in[0].gl_Position, b = gl_in[1].gl_Position;
    if (a.w <= 0.0 || b.w <= 0.0) return;  // behind the camera
    vec2 sa = a.xy / a.w * viewport * 0.5, sb = b.xy / b.w * viewport * 0.5;
    vec2 dir = sb - sa;
    float len = length(dir);
    vec2 n = len > 1e-6 ? vec2(-dir.y, dir.x) / len : vec2(0.0, 1.0);
    vec2 off = n * (thickness * 0.5 + 1.0) / (viewport * 0.5);
    g_color = v_color[0]; g_edge = -1.0; gl_Position = vec4(a.xy + off * a.w, a.z, a.w); EmitVertex();
    g_color = v_color[0]; g_edge = 1.0;  gl_Position = vec4(a.xy - off * a.w, a.z, a.w); EmitVertex();
    g_color = v_color[1]; g_edge = -1.0; gl_Position = vec4(b.xy + off * b.w, b.z, b.w); EmitVertex();
    g_color = v_color[1]; g_edge = 1.0;  gl_Position = vec4(b.xy - off * b.w, b.z, b.w); EmitVertex();
    EndPrimitive();
}
#endif

#if defined FRAGMENT_SHADER
uniform float thickness;
in vec4 g_color;
in float g_edge;
out vec4 frag;
void main() {
    float half_px = thickness * 0.5 + 1.0;
    float d = abs(g_edge) * half_px;                 // distance from the centre line, pixels
    float alpha = clamp(half_px - d, 0.0, 1.0);      // one-pixel soft edge
    frag = vec4(g_color.rgb, g_color.a * alpha);
}
#endif
