// Kernel "newton_schulz": one pass of one Newton-Schulz step X' = a X + (b A + c A^2) X, A = X X^T,
// on a stack of row-major (rows x cols) matrices with rows <= cols (kernels.py
// transposes tall ones and normalizes). The host runs three passes per step, with a memory
// barrier between them, then swaps the X and X' images:
//   pass 0 (GRAM):  A = X X^T          one invocation per entry of A
//   pass 1 (POLY):  P = b A + c A A    one invocation per entry of P
//   pass 2 (APPLY): X' = a X + P X     one invocation per entry of X'
//
// The matrices live in r32f images as an atlas of tiles: matrix j sits at tile
// (j % tiles_x, j / tiles_x), a (rows x cols) tile in X and X', a (rows x rows) tile in A and P,
// so that an invocation's (x, y) is the entry it writes. Images, not storage buffers: on
// llvmpipe an imageLoad costs a twentieth of a buffer load. And one short dot product per
// invocation, not loops over steps: llvmpipe silently stops an invocation's loops after 65535
// iterations in total.
#if defined COMPUTE_SHADER
#ifndef LOCAL_SIZE
#define LOCAL_SIZE 8  // kernels.py's NS_LOCAL_SIZE; defined here too so the file compiles on its own
#endif
layout(local_size_x = LOCAL_SIZE, local_size_y = LOCAL_SIZE) in;

layout(r32f, binding = 0) readonly uniform image2D current;   // X
layout(r32f, binding = 1) uniform image2D gram;                // A
layout(r32f, binding = 2) uniform image2D poly;                // P
layout(r32f, binding = 3) writeonly uniform image2D next;     // X'

uniform uint pass_index;
uniform uint count;
uniform uint tiles_x;
uniform uint rows;
uniform uint cols;
uniform vec3 coeffs;  // (a, b, c)

float x_at(uvec2 tile, uint r, uint c) {
    return imageLoad(current, ivec2(tile.x * cols + c, tile.y * rows + r)).r;
}

float square_at(bool from_gram, uvec2 tile, uint r, uint c) {
    ivec2 at = ivec2(tile.x * rows + c, tile.y * rows + r);
    return from_gram ? imageLoad(gram, at).r : imageLoad(poly, at).r;
}

void main() {
    uvec2 id = gl_GlobalInvocationID.xy;
    uint width = pass_index == 2u ? cols : rows;  // a tile's width in the image written
    uvec2 tile = uvec2(id.x / width, id.y / rows);
    uint r = id.y % rows, c = id.x % width;
    if (tile.x >= tiles_x || tile.y * tiles_x + tile.x >= count) return;

    if (pass_index == 0u) {
        float acc = 0.0;
        for (uint k = 0u; k < cols; ++k) acc += x_at(tile, r, k) * x_at(tile, c, k);
        imageStore(gram, ivec2(id), vec4(acc));
    } else if (pass_index == 1u) {
        float acc = 0.0;
        for (uint k = 0u; k < rows; ++k) acc += square_at(true, tile, r, k) * square_at(true, tile, k, c);
        imageStore(poly, ivec2(id), vec4(coeffs.y * square_at(true, tile, r, c) + coeffs.z * acc));
    } else {
        float acc = coeffs.x * x_at(tile, r, c);
        for (uint k = 0u; k < rows; ++k) acc += square_at(false, tile, r, k) * x_at(tile, k, c);
        imageStore(next, ivec2(id), vec4(acc));
    }
}
#endif
