package dev.entangle.core.engine;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each engine's kernels against plain-Java references. */
class EnginesTest {

    /** The CPU engines, and the CUDA engine where a device is present (not on this project's CI machine). */
    static Stream<String> engines() { return Engines.available().stream(); }

    static double[] gaussian(Random r, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = r.nextGaussian();
        return x;
    }

    @ParameterizedTest
    @MethodSource("engines")
    void kernelsMatchReferences(String name) {
        LinearAlgebra la = Engines.named(name);
        Random rnd = new Random(23);
        int rows = 7, cols = 5;
        double[] a = gaussian(rnd, rows * cols);
        double[] left = la.gram(a, rows, cols, true);
        double[] right = la.gram(a, rows, cols, false);
        for (int i = 0; i < rows; i++) for (int j = 0; j < rows; j++) {
            double s = 0;
            for (int k = 0; k < cols; k++) s += a[i * cols + k] * a[j * cols + k];
            assertEquals(s, left[i * rows + j], 1e-12);
        }
        for (int i = 0; i < cols; i++) for (int j = 0; j < cols; j++) {
            double s = 0;
            for (int k = 0; k < rows; k++) s += a[k * cols + i] * a[k * cols + j];
            assertEquals(s, right[i * cols + j], 1e-12);
        }
        double[] b = gaussian(rnd, cols * 3);
        double[] ab = la.multiply(a, rows, cols, false, b, cols, 3, false);
        double[] e2 = gaussian(new Random(1), rows * 2);
        double[] atb = la.multiply(a, rows, cols, true, e2, rows, 2, false);
        for (int i = 0; i < rows; i++) for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < cols; k++) s += a[i * cols + k] * b[k * 3 + j];
            assertEquals(s, ab[i * 3 + j], 1e-12);
        }
        assertEquals(cols * 2, atb.length);
        for (int i = 0; i < cols; i++) for (int j = 0; j < 2; j++) {
            double s = 0;
            for (int k = 0; k < rows; k++) s += a[k * cols + i] * e2[k * 2 + j];
            assertEquals(s, atb[i * 2 + j], 1e-12, "Aᵀ·B [" + i + "," + j + "]");
        }
        // every transpose combination against the plain product (the CUDA engine swaps operands for row-major data)
        double[] cm = gaussian(rnd, rows * 4);
        double[] atc = la.multiply(a, rows, cols, true, cm, rows, 4, false);        // (cols × rows)(rows × 4)
        double[] d = gaussian(rnd, 4 * cols);
        double[] adt = la.multiply(a, rows, cols, false, d, 4, cols, true);        // (rows × cols)(cols × 4)
        double[] atct = la.multiply(a, rows, cols, true, cm, 4, rows, true);       // (cols × rows)(rows × 4)
        for (int i = 0; i < cols; i++) for (int j = 0; j < 4; j++) {
            double s1 = 0, s2 = 0;
            for (int k = 0; k < rows; k++) {
                s1 += a[k * cols + i] * cm[k * 4 + j];
                s2 += a[k * cols + i] * cm[j * rows + k];
            }
            assertEquals(s1, atc[i * 4 + j], 1e-12);
            assertEquals(s2, atct[i * 4 + j], 1e-12);
        }
        for (int i = 0; i < rows; i++) for (int j = 0; j < 4; j++) {
            double s1 = 0;
            for (int k = 0; k < cols; k++) s1 += a[i * cols + k] * d[j * cols + k];
            assertEquals(s1, adt[i * 4 + j], 1e-12);
        }

        // Eigen-decomposition: G v_i = λ_i v_i, values descending, values-only agrees.
        LinearAlgebra.Eigen e = la.symmetricEigen(right, cols);
        double[] values = la.symmetricEigenvalues(right, cols);
        for (int i = 0; i < cols; i++) {
            assertEquals(e.values()[i], values[i], 1e-10);
            if (i > 0) assertEquals(true, values[i] <= values[i - 1]);
            for (int r = 0; r < cols; r++) {
                double gv = 0;
                for (int c = 0; c < cols; c++) gv += right[r * cols + c] * e.vectors()[c * cols + i];
                assertEquals(e.values()[i] * e.vectors()[r * cols + i], gv, 1e-10);
            }
        }
    }

    /**
     * Several threads profiling different matrices at once (as the profiler's workers do) get
     * exactly the serial answers. This failed for the OpenBLAS engine before its native calls were
     * serialised: entropies off by up to 1.5 nats.
     */
    @ParameterizedTest
    @MethodSource("engines")
    void concurrentCallsAgree(String name) throws Exception {
        dev.entangle.core.profile.ProfileCalculator calc = new dev.entangle.core.profile.ProfileCalculator(Engines.named(name));
        int n = 4;
        int rows = 1024;
        int cols = 1024;
        int r = 128;
        // half dense ΔW, half adapter-style low-rank ΔW (their factor route calls dsyevd and gemm)
        var deltas = new java.util.ArrayList<dev.entangle.core.delta.DeltaMatrix>();
        for (int i = 0; i < n; i++) {
            Random rnd = new Random(100 + i);
            deltas.add(i % 2 == 0
                    ? dev.entangle.core.delta.DeltaMatrix.dense(i, "q_proj", rows, cols, gaussian(rnd, rows * cols), java.util.List.of())
                    : dev.entangle.core.delta.DeltaMatrix.lowRank(i, "q_proj", rows, cols,
                    new dev.entangle.core.delta.DeltaMatrix.LowRank(gaussian(rnd, rows * r), gaussian(rnd, r * cols), r), java.util.List.of()));
        }
        double[][] serial = new double[n][];
        for (int i = 0; i < n; i++) serial[i] = calc.profile(deltas.get(i), dev.entangle.core.profile.ProfileOptions.DEFAULT).entropies();
        var pool = java.util.concurrent.Executors.newFixedThreadPool(3);
        try {
            for (int rep = 0; rep < 3; rep++) {
                var futures = new java.util.ArrayList<java.util.concurrent.Future<double[]>>();
                for (int i = 0; i < n; i++) {
                    int k = i;
                    futures.add(pool.submit(() -> calc.profile(deltas.get(k), dev.entangle.core.profile.ProfileOptions.DEFAULT).entropies()));
                }
                for (int i = 0; i < n; i++) {
                    double[] got = futures.get(i).get();
                    for (int c = 0; c < got.length; c++) assertEquals(serial[i][c], got[c], 1e-9, name + " matrix " + i + " cut " + (c + 1));
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * A LoRA-shaped ΔW = B·A profiled from its factors (r × r eigen-problems and products) equals
     * the profile of the formed matrix (Gram products and dsyev at every cut). OpenBLAS 0.3.19,
     * which JavaCPP ships, failed this at 1024² with r = 128 by 3.2 nats (its factor route; its
     * dense route was right, as numpy confirmed at 2048², r = 256), while the fixtures' ranks
     * (≤ 16) passed.
     */
    @ParameterizedTest
    @MethodSource("engines")
    void lowRankRouteEqualsDenseRoute(String name) {
        dev.entangle.core.profile.ProfileCalculator calc = new dev.entangle.core.profile.ProfileCalculator(Engines.named(name));
        int n = 1024, r = 128;
        Random rnd = new Random(7);
        var lowRank = dev.entangle.core.delta.DeltaMatrix.lowRank(0, "q_proj", n, n,
                new dev.entangle.core.delta.DeltaMatrix.LowRank(gaussian(rnd, n * r), gaussian(rnd, r * n), r), java.util.List.of());
        var dense = dev.entangle.core.delta.DeltaMatrix.dense(0, "q_proj", n, n, lowRank.data(), java.util.List.of());
        double[] fromFactors = calc.profile(lowRank, dev.entangle.core.profile.ProfileOptions.DEFAULT).entropies();
        double[] formed = calc.profile(dense, dev.entangle.core.profile.ProfileOptions.DEFAULT).entropies();
        for (int c = 0; c < formed.length; c++) assertEquals(formed[c], fromFactors[c], 1e-9, name + " cut " + (c + 1));
        assertEquals(Math.log(r), fromFactors[9], 0.6, "row/column cut of a Gaussian rank-" + r + " ΔW sits below ln r");
    }

    /** ND4J's natives bind to the engine's OpenBLAS 0.3.31 by soname, not to the 0.3.19 JavaCPP ships with them. */
    @org.junit.jupiter.api.Test
    @SuppressWarnings("restricted")
    void nd4jRunsOnTheEnginesOpenBlas() throws Throwable {
        Nd4jLinearAlgebra nd4j = new Nd4jLinearAlgebra();
        nd4j.gram(new double[]{1, 2, 3, 4}, 2, 2, true);   // ND4J's natives loaded and used
        // openblas_get_config as ND4J's native library resolves it (dlsym on its handle searches its dependencies)
        String nd4jLibrary = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/maps")).stream()
                .map(l -> l.substring(l.lastIndexOf(' ') + 1)).filter(p -> p.endsWith("/libnd4jcpu.so")).findFirst()
                .orElseThrow(() -> new AssertionError("ND4J's libnd4jcpu.so is not loaded"));
        var lookup = java.lang.foreign.SymbolLookup.libraryLookup(java.nio.file.Path.of(nd4jLibrary), java.lang.foreign.Arena.global());
        var getConfig = java.lang.foreign.Linker.nativeLinker().downcallHandle(lookup.find("openblas_get_config").orElseThrow(),
                java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.ADDRESS));
        String config = ((java.lang.foreign.MemorySegment) getConfig.invokeExact()).reinterpret(256).getString(0);
        assertTrue(config.startsWith("OpenBLAS " + OpenBlasLibrary.VERSION + " "), "ND4J binds to " + config);
        assertEquals("nd4j-" + OpenBlasLinearAlgebra.NAME, nd4j.name());
    }
    /**
     * OpenBLAS makes a Gram in place (a critical call on the arrays) up to a size, copied through
     * native memory above it: both ways the same numbers, from a view of a longer array too, and
     * an array too short for its shape is refused before any native call reads past it.
     */
    @org.junit.jupiter.api.Test
    void openBlasGramsInPlaceEqualCopiedOnes() {
        OpenBlasLinearAlgebra la = (OpenBlasLinearAlgebra) Engines.named("openblas");
        int rows = 37, cols = 23;
        double[] a = gaussian(new Random(5), rows * cols + 11);   // 11 values past the matrix, never read
        for (boolean left : new boolean[]{true, false}) {
            double[] copied = la.gram(a, rows, cols, left, false);
            double[] inPlace = la.gram(a, rows, cols, left, true);
            assertEquals(copied.length, inPlace.length);
            for (int i = 0; i < copied.length; i++) assertEquals(copied[i], inPlace[i], 1e-12, (left ? "left" : "right") + " Gram entry " + i);
        }
        assertTrue(OpenBlasLinearAlgebra.IN_PLACE_GRAM_MAX >= (double) rows * rows * cols, "a profile's usual Grams are made in place");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> la.gram(new double[rows * cols - 1], rows, cols, true));
        assertTrue(e.getMessage().contains("fewer than 37 × 23"), e.getMessage());
    }
}
