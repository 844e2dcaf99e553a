package dev.entangle.core.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Each engine's float32 GEMM against a float64 loop: every transpose, α and β, and operands that
 * are views (offsets, strides wider than their columns, one head's columns of a wider matrix),
 * with everything between C's rows left as it was.
 */
class FloatGemmTest {

    static Stream<String> engines() { return Engines.available().stream(); }

    static float[] gaussian(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    @ParameterizedTest
    @MethodSource("engines")
    void viewsAndTransposesMatchALoop(String name) {
        LinearAlgebra la = Engines.named(name);
        Random rnd = new Random(11);
        int m = 13, n = 9, k = 21;
        for (boolean ta : new boolean[]{false, true}) {
            for (boolean tb : new boolean[]{false, true}) {
                for (float beta : new float[]{0f, 0.5f}) {
                    int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
                    int lda = aCols + 3, ldb = bCols + 5, ldc = n + 7;
                    int aOff = 4, bOff = 2, cOff = 6;
                    float[] a = gaussian(rnd, aOff + aRows * lda);
                    float[] b = gaussian(rnd, bOff + bRows * ldb);
                    float[] c = gaussian(rnd, cOff + m * ldc + 3);
                    float[] before = c.clone();
                    float alpha = 0.75f;
                    la.multiplyFloat(ta, tb, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
                    String where = name + " transA=" + ta + " transB=" + tb + " beta=" + beta;
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            double s = 0;
                            for (int p = 0; p < k; p++) {
                                double x = ta ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                                double y = tb ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                                s += x * y;
                            }
                            double expected = alpha * s + beta * before[cOff + i * ldc + j];
                            assertEquals(expected, c[cOff + i * ldc + j], 2e-5 * (1 + Math.abs(expected)), where + " C[" + i + "," + j + "]");
                        }
                    }
                    for (int idx = 0; idx < c.length; idx++) {
                        int rel = idx - cOff;
                        boolean inside = rel >= 0 && rel / ldc < m && rel % ldc < n;
                        if (!inside) assertEquals(before[idx], c[idx], where + ": element " + idx + " outside C's view was written");
                    }
                }
            }
        }
    }

    /** One attention head: q_h kᵀ over a [T, H·d] and a [T, KV·d] activation, written into a T × T block. */
    @ParameterizedTest
    @MethodSource("engines")
    void oneHeadsColumnsOfWiderActivations(String name) {
        LinearAlgebra la = Engines.named(name);
        Random rnd = new Random(3);
        int t = 17, heads = 4, kv = 2, d = 8;
        float[] q = gaussian(rnd, t * heads * d), k = gaussian(rnd, t * kv * d);
        for (int h = 0; h < heads; h++) {
            float[] s = new float[t * t];
            int g = h / 2;
            la.multiplyFloat(false, true, t, t, d, 1f, q, h * d, heads * d, k, g * d, kv * d, 0f, s, 0, t);
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < t; j++) {
                    double dot = 0;
                    for (int c = 0; c < d; c++) dot += (double) q[i * heads * d + h * d + c] * k[j * kv * d + g * d + c];
                    assertEquals(dot, s[i * t + j], 1e-5 * (1 + Math.abs(dot)), name + " head " + h);
                }
            }
        }
    }

    @Test
    void viewsOutsideTheirArraysAreRefusedBeforeAnyNativeCall() {
        LinearAlgebra la = Engines.named("openblas");
        float[] a = new float[12], b = new float[12], c = new float[8];
        assertThrows(IllegalArgumentException.class, () -> la.multiplyFloat(false, false, 3, 3, 4, 1f, a, 1, 4, b, 0, 3, 0f, c, 0, 3));
        assertThrows(IllegalArgumentException.class, () -> la.multiplyFloat(false, false, 3, 3, 4, 1f, a, 0, 4, b, 0, 3, 0f, c, 0, 3));
        assertThrows(IllegalArgumentException.class, () -> la.multiplyFloat(false, false, 2, 2, 2, 1f, a, 0, 1, b, 0, 2, 0f, c, 0, 2));
    }
}
