/*
 * Matrix multiply C[M x N] = A[M x K] * B[K x N], all row-major.
 */
// clbake:variant t8 -DTILE=8
// clbake:variant t16 -DTILE=16
// Representative shapes for `clbake bake --tune` (gemm_tiled's local size is fixed):
// clbake:tune gemm_naive 256,256 M=256 N=256 K=128 A=M*K B=K*N C=M*N
#include "common.h"

/*
 * One work-item per output element. Global size (N, M) (or rounded up), any
 * local size: global id 0 = column, 1 = row.
 */
__kernel void gemm_naive(__global const float* A,
                         __global const float* B,
                         __global float* C,
                         int M, int N, int K)
{
    const int col = get_global_id(0);
    const int row = get_global_id(1);
    if (col >= N || row >= M) return;

    __global const float* a = A + (size_t)row * K;
    float acc = 0.0f;
    for (int k = 0; k < K; ++k) {
        acc += a[k] * B[(size_t)k * N + col];
    }
    C[(size_t)row * N + col] = acc;
}

/*
 * Tiled through __local memory, TILE x TILE tiles.
 * Global size (roundup(N, TILE), roundup(M, TILE)), local size (TILE, TILE)
 * — required (reqd_work_group_size), so the local size must be passed.
 * Edges (M, N, K not multiples of TILE) are handled inside.
 */
__attribute__((reqd_work_group_size(TILE, TILE, 1)))
__kernel void gemm_tiled(__global const float* A,
                         __global const float* B,
                         __global float* C,
                         int M, int N, int K)
{
    __local float As[TILE][TILE];
    __local float Bs[TILE][TILE];

    const int tx = get_local_id(0);
    const int ty = get_local_id(1);
    const int col = get_group_id(0) * TILE + tx;
    const int row = get_group_id(1) * TILE + ty;

    float acc = 0.0f;
    for (int t = 0; t < K; t += TILE) {
        const int ak = t + tx;
        const int bk = t + ty;
        As[ty][tx] = (row < M && ak < K) ? A[(size_t)row * K + ak] : 0.0f;
        Bs[ty][tx] = (bk < K && col < N) ? B[(size_t)bk * N + col] : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < TILE; ++k) {
            acc += As[ty][k] * Bs[k][tx];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (row < M && col < N) C[(size_t)row * N + col] = acc;
}
