// A curved surface coloured by its Gaussian curvature K: blue where K < 0, grey where the surface is
// flat, terracotta where K > 0 (a blue-orange axis, readable by colour-blind eyes), lit from both sides. Attributes: in_pos (world, z up), in_normal, in_value (K mapped to -1..1).
// Colour and lighting are per vertex: the meshes are fine, and the software renderer pays per pixel.

#if defined VERTEX_SHADER
uniform mat4 mvp;
uniform vec3 light_dir;
uniform vec3 eye;
in vec3 in_pos;
in vec3 in_normal;
in float in_value;
out vec3 v_color;

vec3 diverging(float t) {
    // muted ends, so that the bright arrows and the loop drawn over them stand out
    vec3 negative = vec3(0.10, 0.34, 0.62);   // blue
    vec3 flat_ = vec3(0.56, 0.56, 0.55);      // stone grey
    vec3 positive = vec3(0.72, 0.36, 0.16);   // terracotta
    t = clamp(t, -1.0, 1.0);
    return t < 0.0 ? mix(flat_, negative, -t) : mix(flat_, positive, t);
}

void main() {
    gl_Position = mvp * vec4(in_pos, 1.0);
    vec3 n = normalize(in_normal);
    vec3 to_eye = normalize(eye - in_pos);
    if (dot(n, to_eye) < 0.0) n = -n;   // light the side that faces the camera
    vec3 l = normalize(light_dir);
    float diffuse = max(dot(n, l), 0.0);
    float spec = pow(max(dot(n, normalize(l + to_eye)), 0.0), 30.0) * 0.18;
    float rim = 0.10 * (1.0 - max(dot(n, to_eye), 0.0));
    v_color = diverging(in_value) * (0.38 + 0.62 * diffuse) + spec + rim;
}
#endif

#if defined FRAGMENT_SHADER
uniform float alpha;
in vec3 v_color;
out vec4 frag;
void main() {
    frag = vec4(v_color, alpha);
}
#endif
