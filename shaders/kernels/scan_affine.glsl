// Work-efficient parallel scan of the affine recurrence h_t = a_t h_{t-1} + b_t (kernel "affine_scan").
//
// The pairs (a, b) compose with the associative operator
//     (a1, b1) o (a2, b2) = (a1 a2, a2 b1 + b2)        ("first 1, then 2")
// so the inclusive prefixes of the pairs are the states h_t (with h_{-1} = 0; the host folds an
// initial state into b_0). One work group scans BLOCK = LOCAL_SIZE * ITEMS consecutive pairs:
//   1. each invocation scans its ITEMS pairs serially, in registers;
//   2. the LOCAL_SIZE invocation totals are scanned in shared memory with the Brent-Kung tree
//      (an up-sweep, then a down-sweep: 2 log2(LOCAL_SIZE) - 1 rounds, < 2 LOCAL_SIZE combines);
//   3. each invocation composes the total of the invocations before it into its pairs.
// Every pair is combined a bounded number of times (work O(N)); the barriers, which are what
// costs on a CPU rasterizer and on GPUs alike, are per LOCAL_SIZE * ITEMS pairs, not per pair.
// SCAN_BLOCKS (APPLY_CARRY == 0) writes the in-block prefixes back in place and each block's
// total to the aggregate buffers; the host scans the aggregates with the same kernel,
// recursively; APPLY_CARRY (== 1) then composes the state at the end of block k - 1 into
// block k: h_i = A_i * carry + B_i.
// Data is channel-major: channel c of length n starts at c * n; work group y is the channel.
// Positions past n are padded with the identity (1, 0), so any n works, not only powers of two.
layout(local_size_x = LOCAL_SIZE) in;

#define BLOCK (uint(LOCAL_SIZE) * uint(ITEMS))

layout(std430, binding = 0) buffer Decays { float a[]; };
layout(std430, binding = 1) buffer Inputs { float b[]; };
layout(std430, binding = 2) buffer BlockDecays { float block_a[]; };
layout(std430, binding = 3) buffer BlockInputs { float block_b[]; };

uniform uint n;        // length of each channel at this level
uniform uint nblocks;  // blocks per channel at this level, ceil(n / BLOCK)

#if APPLY_CARRY == 0

shared float sa[LOCAL_SIZE];
shared float sb[LOCAL_SIZE];

// s[dst] = s[src] o s[dst], where src covers the positions just before dst's range.
void combine(uint src, uint dst) {
    sb[dst] = sa[dst] * sb[src] + sb[dst];
    sa[dst] = sa[src] * sa[dst];
}

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint channel_base = gl_WorkGroupID.y * n;
    uint first = gl_WorkGroupID.x * BLOCK + tid * uint(ITEMS);

    // 1. Serial inclusive scan of this invocation's pairs.
    float ra[ITEMS];
    float rb[ITEMS];
    float acc_a = 1.0;
    float acc_b = 0.0;
    for (uint k = 0u; k < uint(ITEMS); ++k) {
        uint i = first + k;
        if (i < n) {
            float x_a = a[channel_base + i];
            acc_b = x_a * acc_b + b[channel_base + i];
            acc_a *= x_a;
        }
        ra[k] = acc_a;
        rb[k] = acc_b;
    }
    sa[tid] = acc_a;
    sb[tid] = acc_b;

    // 2. Brent-Kung over the invocation totals. Up-sweep: after the round of stride s, every
    // position p with (p + 1) % 2s == 0 holds the composition of the 2s totals ending at p.
    for (uint stride = 1u; stride < uint(LOCAL_SIZE); stride <<= 1) {
        barrier();
        uint dst = (tid + 1u) * stride * 2u - 1u;
        if (dst < uint(LOCAL_SIZE)) combine(dst - stride, dst);
    }
    // Down-sweep: fill in the positions halfway between the complete prefixes.
    for (uint stride = uint(LOCAL_SIZE) / 4u; stride > 0u; stride >>= 1) {
        barrier();
        uint src = (tid + 1u) * stride * 2u - 1u;
        if (src + stride < uint(LOCAL_SIZE)) combine(src, src + stride);
    }
    barrier();

    // 3. Compose the prefix of the invocations before this one into its pairs.
    float before_a = tid > 0u ? sa[tid - 1u] : 1.0;
    float before_b = tid > 0u ? sb[tid - 1u] : 0.0;
    for (uint k = 0u; k < uint(ITEMS); ++k) {
        uint i = first + k;
        if (i < n) {
            a[channel_base + i] = before_a * ra[k];
            b[channel_base + i] = ra[k] * before_b + rb[k];
        }
    }
    if (tid == uint(LOCAL_SIZE) - 1u) {
        uint slot = gl_WorkGroupID.y * nblocks + gl_WorkGroupID.x;
        block_a[slot] = sa[tid];
        block_b[slot] = sb[tid];
    }
}

#else

void main() {
    uint block = gl_WorkGroupID.x + 1u;  // block 0 has no carry
    uint channel_base = gl_WorkGroupID.y * n;
    // After the aggregates were scanned, block_b holds the state at the end of each block.
    float carry = block_b[gl_WorkGroupID.y * nblocks + block - 1u];
    uint first = block * BLOCK + gl_LocalInvocationID.x * uint(ITEMS);
    for (uint k = 0u; k < uint(ITEMS); ++k) {
        uint i = first + k;
        if (i < n) b[channel_base + i] = a[channel_base + i] * carry + b[channel_base + i];
    }
}

#endif
