// Kernel "canyon_sweep": gradient descent on the canyon from one start, one invocation per
// learning rate. Each run keeps |y| >= noise_floor, stops when the loss leaves
// [-diverged_loss, diverged_loss] (or is NaN), and reports over its last `late` steps the mean
// sharpness and the largest |y| (both +inf when diverged) and a diverged flag.
// Output planes: [0, count) sharpness, [count, 2 count) amplitude, [2 count, 3 count) diverged.
layout(local_size_x = LOCAL_SIZE) in;

#include "canyon_common.glsl"

layout(std430, binding = 0) readonly buffer Rates { float etas[]; };
layout(std430, binding = 1) writeonly buffer Results { float results[]; };

uniform uint count;
uniform uint steps;
uniform uint late;
uniform vec2 start;
uniform float noise_floor;
uniform float diverged_loss;

void main() {
    uint k = gl_GlobalInvocationID.x;
    if (k >= count) return;
    float eta = etas[k];
    float x = start.x, y = start.y;
    float loss, dx, dy, sharpness;
    float sharp_sum = 0.0, amplitude = 0.0;
    bool diverged = false;
    for (uint t = 0u; t < steps; ++t) {
        canyon_fields(x, y, loss, dx, dy, sharpness);
        x -= eta * dx;
        float y_new = y - eta * dy;
        // sign(0) is 0 in GLSL: a zero y moves to +noise_floor, as numpy's copysign does.
        y = (y_new < 0.0 ? -1.0 : 1.0) * max(abs(y_new), noise_floor);
        canyon_fields(x, y, loss, dx, dy, sharpness);
        if (!(abs(loss) < diverged_loss)) {
            diverged = true;
            break;
        }
        if (t >= steps - late) {
            sharp_sum += sharpness;
            amplitude = max(amplitude, abs(y));
        }
    }
    float inf = uintBitsToFloat(0x7F800000u);
    results[k] = diverged ? inf : sharp_sum / float(late);
    results[count + k] = diverged ? inf : amplitude;
    results[2u * count + k] = diverged ? 1.0 : 0.0;
}
