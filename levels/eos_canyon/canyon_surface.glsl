// Kernel "canyon_surface": L and its gradient on an nx-by-ny grid, one invocation per point.
// Output planes (row-major, y rows): [0, n) loss, [n, 2n) dL/dx, [2n, 3n) dL/dy, n = nx * ny.
layout(local_size_x = LOCAL_SIZE) in;

#include "canyon_common.glsl"

layout(std430, binding = 0) readonly buffer Xs { float xs[]; };
layout(std430, binding = 1) readonly buffer Ys { float ys[]; };
layout(std430, binding = 2) writeonly buffer Fields { float fields[]; };

uniform uint nx;
uniform uint ny;

void main() {
    uint i = gl_GlobalInvocationID.x;
    uint n = nx * ny;
    if (i >= n) return;
    float loss, dx, dy, sharpness;
    canyon_fields(xs[i % nx], ys[i / nx], loss, dx, dy, sharpness);
    fields[i] = loss;
    fields[n + i] = dx;
    fields[2u * n + i] = dy;
}
