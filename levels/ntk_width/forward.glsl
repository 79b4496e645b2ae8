// Kernel "ntk_width_forward": f(z_k) = scale * sum_i a_i ReLU(w_i . z_k), one work group per input.
// Each invocation sums a strided share of the units; the group then reduces in shared memory.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) readonly buffer Inputs { vec2 zs[]; };
layout(std430, binding = 1) readonly buffer Weights { vec2 w[]; };
layout(std430, binding = 2) readonly buffer Out { float a[]; };
layout(std430, binding = 3) writeonly buffer Outputs { float f[]; };

uniform uint units;
uniform float scale;

shared float partial[LOCAL_SIZE];

void main() {
    uint k = gl_WorkGroupID.x;
    uint lane = gl_LocalInvocationID.x;
    vec2 z = zs[k];
    float sum = 0.0;
    for (uint i = lane; i < units; i += LOCAL_SIZE) {
        sum += a[i] * max(dot(w[i], z), 0.0);
    }
    partial[lane] = sum;
    barrier();
    for (uint stride = LOCAL_SIZE / 2u; stride > 0u; stride /= 2u) {
        if (lane < stride) partial[lane] += partial[lane + stride];
        barrier();
    }
    if (lane == 0u) f[k] = scale * partial[0];
}
