// Kernel "ntk_width_update": one full-batch gradient step of one hidden unit (w_i, a_i), one
// invocation per unit. residual[j] is (f(z_j) - y_j) / m, so the loss is mean squared error / 2.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) readonly buffer Inputs { vec2 zs[]; };
layout(std430, binding = 1) readonly buffer Residual { float residual[]; };
layout(std430, binding = 2) buffer Weights { vec2 w[]; };
layout(std430, binding = 3) buffer Out { float a[]; };

uniform uint units;
uniform uint points;
uniform float scale;
uniform float lr_a;
uniform float lr_w;

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= units) return;
    vec2 wi = w[i];
    float ai = a[i];
    float grad_a = 0.0;
    vec2 grad_w = vec2(0.0);
    for (uint j = 0u; j < points; ++j) {
        float p = dot(wi, zs[j]);
        if (p > 0.0) {
            grad_a += residual[j] * p;
            grad_w += residual[j] * zs[j];
        }
    }
    a[i] = ai - lr_a * scale * grad_a;
    w[i] = wi - lr_w * scale * ai * grad_w;
}
