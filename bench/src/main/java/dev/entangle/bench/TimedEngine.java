package dev.entangle.bench;

import dev.entangle.core.engine.LinearAlgebra;

import java.util.concurrent.atomic.AtomicLong;

/**
 * An engine that times its float32 GEMMs and counts their flops, delegating everything: where a
 * forward pass's time goes (inside the GEMMs, or in decoding weights, softmax and the elementwise
 * steps around them), measured in the same pass.
 */
final class TimedEngine implements LinearAlgebra {

    private final LinearAlgebra engine;
    private final AtomicLong nanos = new AtomicLong();
    private final AtomicLong flops = new AtomicLong();

    TimedEngine(LinearAlgebra engine) {
        this.engine = engine;
    }

    void reset() {
        nanos.set(0);
        flops.set(0);
    }

    /** Seconds inside multiplyFloat since the last reset. */
    double gemmSeconds() { return nanos.get() / 1e9; }

    double gemmFlops() { return flops.get(); }

    @Override
    public String name() { return engine.name(); }

    @Override
    public double[] gram(double[] a, int rows, int cols, boolean leftSide) { return engine.gram(a, rows, cols, leftSide); }

    @Override
    public double[] lowerTriangularGram(double[] l, int n) { return engine.lowerTriangularGram(l, n); }

    @Override
    public double[] symmetricEigenvalues(double[] g, int n) { return engine.symmetricEigenvalues(g, n); }

    @Override
    public Downdated symmetricEigenvaluesDowndated(double[] g, int n, double[] y) { return engine.symmetricEigenvaluesDowndated(g, n, y); }

    @Override
    public <T> java.util.List<T> sideBySide(java.util.List<? extends java.util.function.Supplier<? extends T>> work) { return engine.sideBySide(work); }

    @Override
    public Eigen symmetricEigen(double[] g, int n) { return engine.symmetricEigen(g, n); }

    @Override
    public double[] multiply(double[] a, int aRows, int aCols, boolean transA, double[] b, int bRows, int bCols, boolean transB) {
        return engine.multiply(a, aRows, aCols, transA, b, bRows, bCols, transB);
    }

    @Override
    public void multiplyFloat(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOffset, int lda,
                              float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc) {
        long t0 = System.nanoTime();
        engine.multiplyFloat(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);
        nanos.addAndGet(System.nanoTime() - t0);
        flops.addAndGet(2L * m * n * k);
    }
}
