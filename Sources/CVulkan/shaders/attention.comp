#version 450
// softmax(q·kᵀ·scale)·v for one head and 16 query rows per work group, streaming over the keys 16
// at a time with a running maximum and sum (flash attention): the scores never leave shared
// memory, so memory stays flat however many tokens there are. q, k, v and the output are
// [tokens, width] with head h in columns h·d ..< (h + 1)·d; rows first_query… and keys first_key….
// Heads up to 128 wide (MAXD); wider ones go through two GEMMs and the softmax kernel.
// Thread t works on query row t / 8 and owns output columns t % 8, t % 8 + 8, ….
#define BR 16u
#define BC 16u
#define MAXD 128u
layout(local_size_x = 128) in;
layout(std430, binding = 0) readonly buffer Query { float q[]; };
layout(std430, binding = 1) readonly buffer Key { float k[]; };
layout(std430, binding = 2) readonly buffer Value { float v[]; };
layout(std430, binding = 3) writeonly buffer Output { float o[]; };
layout(push_constant) uniform Parameters { uint queries, keys, width, head_dim, first_query, first_key, causal; float scale; } p;

shared float qs[BR][MAXD];
shared float ks[BC][MAXD];
shared float vs[BC][MAXD];
shared float scores[BR][BC];

void main() {
    const float minus_infinity = uintBitsToFloat(0xff800000u);
    uint t = gl_LocalInvocationID.x, row = t >> 3u, lane = t & 7u;
    uint first_row = gl_WorkGroupID.x * BR, d = p.head_dim, column0 = gl_WorkGroupID.y * d;
    uint query = first_row + row;
    for (uint i = t; i < BR * d; i += 128u) {
        uint r = i / d, c = i % d;
        qs[r][c] = first_row + r < p.queries ? q[(p.first_query + first_row + r) * p.width + column0 + c] : 0.0;
    }
    // With the causal mask no row of this group sees keys past its last row.
    uint key_end = p.causal != 0u ? min(p.keys, first_row + BR) : p.keys;
    float running_max = minus_infinity, sum = 0.0;
    float acc[MAXD / 8u];
    for (uint j = 0u; j < MAXD / 8u; j++) acc[j] = 0.0;
    for (uint block = 0u; block < key_end; block += BC) {
        barrier();  // the previous block's tiles and scores are no longer read
        for (uint i = t; i < BC * d; i += 128u) {
            uint r = i / d, c = i % d, key = block + r;
            bool inside = key < p.keys;
            ks[r][c] = inside ? k[(p.first_key + key) * p.width + column0 + c] : 0.0;
            vs[r][c] = inside ? v[(p.first_key + key) * p.width + column0 + c] : 0.0;
        }
        barrier();
        for (uint j = lane; j < BC; j += 8u) {
            float s = 0.0;
            for (uint c = 0u; c < d; c++) s += qs[row][c] * ks[j][c];
            uint key = block + j;
            bool visible = key < p.keys && (p.causal == 0u || key <= query);
            scores[row][j] = visible ? s * p.scale : minus_infinity;
        }
        barrier();
        float block_max = minus_infinity;
        for (uint j = 0u; j < BC; j++) block_max = max(block_max, scores[row][j]);
        float new_max = max(running_max, block_max);
        if (new_max != minus_infinity) {  // else every key so far is masked (rows past the end only)
            float rescale = exp(running_max - new_max);
            sum *= rescale;
            for (uint j = 0u; j < MAXD / 8u; j++) acc[j] *= rescale;
            for (uint j = 0u; j < BC; j++) {
                float weight = exp(scores[row][j] - new_max);
                sum += weight;
                for (uint c = lane, n = 0u; c < d; c += 8u, n++) acc[n] += weight * vs[j][c];
            }
            running_max = new_max;
        }
    }
    if (query >= p.queries) return;
    float inverse = 1.0 / sum;
    for (uint c = lane, n = 0u; c < d; c += 8u, n++) o[(p.first_query + query) * p.width + column0 + c] = acc[n] * inverse;
}
