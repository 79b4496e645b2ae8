// Kernel "descend": `steps` gradient steps x <- (1 - lr a) x, one invocation per ball.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) buffer Balls { float xs[]; };

uniform uint n;
uniform float factor;  // 1 - lr * curvature
uniform int steps;

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= n) return;
    float x = xs[i];
    for (int k = 0; k < steps; ++k) x *= factor;
    xs[i] = x;
}
