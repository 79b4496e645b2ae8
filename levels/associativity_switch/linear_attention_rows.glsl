// Causal linear attention in its quadratic ("transformer") form, one query row per invocation
// (kernel "causal_linear_attention"):
//     y_i = sum_{j <= i} w_ij v_j / sum_{j <= i} w_ij,    w_ij = phi(q_i) . phi(k_j),
// phi(x) = elu(x) + 1 > 0. Row i walks the i + 1 keys before it: O(N^2 D) work in all, the
// N x N weights never stored. The other backends use the recurrent form; they must agree.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) readonly buffer Queries { float q[]; };  // (n, D) row-major
layout(std430, binding = 1) readonly buffer Keys { float k[]; };     // (n, D)
layout(std430, binding = 2) readonly buffer Values { float v[]; };   // (n, DV)
layout(std430, binding = 3) writeonly buffer Outputs { float y[]; }; // (n, DV)

uniform uint n;

float phi(float x) { return x > 0.0 ? x + 1.0 : exp(x); }

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= n) return;
    float fq[D];
    for (uint c = 0u; c < uint(D); ++c) fq[c] = phi(q[i * uint(D) + c]);
    float numerator[DV];
    for (uint e = 0u; e < uint(DV); ++e) numerator[e] = 0.0;
    float denominator = 0.0;
    for (uint j = 0u; j <= i; ++j) {
        float w = 0.0;
        for (uint c = 0u; c < uint(D); ++c) w += fq[c] * phi(k[j * uint(D) + c]);
        denominator += w;
        for (uint e = 0u; e < uint(DV); ++e) numerator[e] += w * v[j * uint(DV) + e];
    }
    for (uint e = 0u; e < uint(DV); ++e) y[i * uint(DV) + e] = numerator[e] / denominator;
}
