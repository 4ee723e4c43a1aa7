/*
 * A tiny bridge to llama.cpp's own CPU quantization code (libggml-base, as
 * shipped with node-llama-cpp), so tests can compare WebClaw's reference
 * against it bit for bit. Compiled by tests/conformance/quant-ggml.test.ts.
 *
 *   harness dequant <ggml type id> <n elements>   stdin: blocks   stdout: n f32
 *   harness quant   <ggml type id> <n elements>   stdin: n f32    stdout: blocks
 *
 * "quant" uses quantize_row_*_ref; for F16 and BF16 (ids 1 and 30) the pair
 * is ggml's own row conversions between f32 and the 16-bit formats.
 *
 * Pointers are declared void: every row function takes (src, dst, count).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*row_fn)(const void *src, void *dst, int64_t k);

#define DECL(name) void name(const void *, void *, int64_t);
DECL(dequantize_row_q4_0) DECL(dequantize_row_q4_1) DECL(dequantize_row_q5_0) DECL(dequantize_row_q5_1)
DECL(dequantize_row_q8_0) DECL(dequantize_row_q2_K) DECL(dequantize_row_q3_K) DECL(dequantize_row_q4_K)
DECL(dequantize_row_q5_K) DECL(dequantize_row_q6_K) DECL(dequantize_row_iq4_nl) DECL(dequantize_row_iq4_xs)
DECL(ggml_fp16_to_fp32_row) DECL(ggml_bf16_to_fp32_row)
DECL(dequantize_row_iq2_xxs) DECL(dequantize_row_iq2_xs) DECL(dequantize_row_iq2_s) DECL(dequantize_row_iq3_xxs)
DECL(dequantize_row_iq3_s) DECL(dequantize_row_iq1_s) DECL(dequantize_row_iq1_m) DECL(dequantize_row_mxfp4)
DECL(dequantize_row_nvfp4) DECL(dequantize_row_tq1_0) DECL(dequantize_row_tq2_0)
DECL(quantize_row_q4_0_ref) DECL(quantize_row_q4_1_ref) DECL(quantize_row_q5_0_ref) DECL(quantize_row_q5_1_ref)
DECL(quantize_row_q8_0_ref) DECL(quantize_row_q2_K_ref) DECL(quantize_row_q3_K_ref) DECL(quantize_row_q4_K_ref)
DECL(quantize_row_q5_K_ref) DECL(quantize_row_q6_K_ref) DECL(quantize_row_iq4_nl_ref) DECL(quantize_row_iq4_xs_ref)
DECL(ggml_fp32_to_fp16_row) DECL(ggml_fp32_to_bf16_row_ref)
DECL(quantize_row_mxfp4_ref) DECL(quantize_row_nvfp4_ref) DECL(quantize_row_tq1_0_ref) DECL(quantize_row_tq2_0_ref)

struct entry { int type; row_fn dequant; row_fn quant; int block; int bytes; };

static const struct entry table[] = {
    { 1, (row_fn)ggml_fp16_to_fp32_row, (row_fn)ggml_fp32_to_fp16_row, 1, 2 },
    { 30, (row_fn)ggml_bf16_to_fp32_row, (row_fn)ggml_fp32_to_bf16_row_ref, 1, 2 },
    { 2, (row_fn)dequantize_row_q4_0, (row_fn)quantize_row_q4_0_ref, 32, 18 },
    { 3, (row_fn)dequantize_row_q4_1, (row_fn)quantize_row_q4_1_ref, 32, 20 },
    { 6, (row_fn)dequantize_row_q5_0, (row_fn)quantize_row_q5_0_ref, 32, 22 },
    { 7, (row_fn)dequantize_row_q5_1, (row_fn)quantize_row_q5_1_ref, 32, 24 },
    { 8, (row_fn)dequantize_row_q8_0, (row_fn)quantize_row_q8_0_ref, 32, 34 },
    { 10, (row_fn)dequantize_row_q2_K, (row_fn)quantize_row_q2_K_ref, 256, 84 },
    { 11, (row_fn)dequantize_row_q3_K, (row_fn)quantize_row_q3_K_ref, 256, 110 },
    { 12, (row_fn)dequantize_row_q4_K, (row_fn)quantize_row_q4_K_ref, 256, 144 },
    { 13, (row_fn)dequantize_row_q5_K, (row_fn)quantize_row_q5_K_ref, 256, 176 },
    { 14, (row_fn)dequantize_row_q6_K, (row_fn)quantize_row_q6_K_ref, 256, 210 },
    { 20, (row_fn)dequantize_row_iq4_nl, (row_fn)quantize_row_iq4_nl_ref, 32, 18 },
    { 23, (row_fn)dequantize_row_iq4_xs, (row_fn)quantize_row_iq4_xs_ref, 256, 136 },
    /* The lattice types' quantizers need an importance matrix and search tables: dequantization only. */
    { 16, (row_fn)dequantize_row_iq2_xxs, NULL, 256, 66 },
    { 17, (row_fn)dequantize_row_iq2_xs, NULL, 256, 74 },
    { 22, (row_fn)dequantize_row_iq2_s, NULL, 256, 82 },
    { 18, (row_fn)dequantize_row_iq3_xxs, NULL, 256, 98 },
    { 21, (row_fn)dequantize_row_iq3_s, NULL, 256, 110 },
    { 19, (row_fn)dequantize_row_iq1_s, NULL, 256, 50 },
    { 29, (row_fn)dequantize_row_iq1_m, NULL, 256, 56 },
    { 39, (row_fn)dequantize_row_mxfp4, (row_fn)quantize_row_mxfp4_ref, 32, 17 },
    { 40, (row_fn)dequantize_row_nvfp4, (row_fn)quantize_row_nvfp4_ref, 64, 36 },
    { 34, (row_fn)dequantize_row_tq1_0, (row_fn)quantize_row_tq1_0_ref, 256, 54 },
    { 35, (row_fn)dequantize_row_tq2_0, (row_fn)quantize_row_tq2_0_ref, 256, 66 },
};

static int read_all(void *buf, size_t n) { return fread(buf, 1, n, stdin) == n; }

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: harness dequant|quant <type> <n>\n"); return 2; }
    const char *op = argv[1];
    int type = atoi(argv[2]);
    int64_t n = atoll(argv[3]);
    const struct entry *e = NULL;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) if (table[i].type == type) e = &table[i];
    if (!e || n % e->block) { fprintf(stderr, "unsupported type %d or count %lld\n", type, (long long)n); return 2; }
    size_t block_bytes = (size_t)(n / e->block) * e->bytes;
    size_t float_bytes = (size_t)n * sizeof(float);
    void *in = malloc(block_bytes > float_bytes ? block_bytes : float_bytes);
    void *out = malloc(block_bytes > float_bytes ? block_bytes : float_bytes);
    if (!strcmp(op, "dequant")) {
        if (!read_all(in, block_bytes)) return 3;
        e->dequant(in, out, n);
        fwrite(out, 1, float_bytes, stdout);
    } else if (!strcmp(op, "quant") && e->quant) {
        if (!read_all(in, float_bytes)) return 3;
        e->quant(in, out, n);
        fwrite(out, 1, block_bytes, stdout);
    } else {
        return 2;
    }
    return 0;
}
