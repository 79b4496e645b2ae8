// A lit height-field surface with iso-height bands and a coordinate grid.
// Attributes: in_pos (world, z up), in_normal, in_value (scalar mapped to colour, 0..1).

#include "colormap.glsl"

// Colour and lighting are computed per vertex (the meshes are fine enough), which keeps the
// per-pixel work small on the software renderer; iso-lines and grid lines stay per pixel.

#if defined VERTEX_SHADER
uniform mat4 mvp;
uniform vec3 light_dir;
uniform vec3 eye;
in vec3 in_pos;
in vec3 in_normal;
in float in_value;
out vec3 v_pos;
out vec3 v_color;
out float v_value;
void main() {
    gl_Position = mvp * vec4(in_pos, 1.0);
    vec3 n = normalize(in_normal);
    vec3 to_eye = normalize(eye - in_pos);
    if (dot(n, to_eye) < 0.0) n = -n;   // light the side that faces the camera
    vec3 l = normalize(light_dir);
    float diffuse = max(dot(n, l), 0.0);
    float spec = pow(max(dot(n, normalize(l + to_eye)), 0.0), 40.0) * 0.25;
    v_color = viridis(in_value) * (0.35 + 0.65 * diffuse) + spec;
    v_pos = in_pos;
    v_value = in_value;
}
#endif

#if defined FRAGMENT_SHADER
uniform float bands;        // number of iso-value bands (0: none)
uniform float grid_step;    // world units between grid lines in x and y (0: none)
uniform float alpha;
in vec3 v_pos;
in vec3 v_color;
in float v_value;
out vec4 frag;
void main() {
    vec3 color = v_color;
    // Iso-lines and grid lines of a fixed width, without screen-space derivatives
    // (fwidth costs a lot on the software renderer).
    if (bands > 0.0) {
        float f = fract(v_value * bands);
        color *= mix(0.72, 1.0, smoothstep(0.0, 0.06, min(f, 1.0 - f)));
    }
    if (grid_step > 0.0) {
        vec2 g = abs(fract(v_pos.xy / grid_step + 0.5) - 0.5);
        color = mix(color, vec3(1.0), 0.18 * (1.0 - smoothstep(0.0, 0.02, min(g.x, g.y))));
    }
    frag = vec4(color, alpha);
}
#endif
