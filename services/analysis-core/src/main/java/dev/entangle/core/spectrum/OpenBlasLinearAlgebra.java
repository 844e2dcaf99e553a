package dev.entangle.core.spectrum;

import org.bytedeco.openblas.global.openblas;

/**
 * CPU backend on the OpenBLAS/LAPACK that nd4j-native ships (JavaCPP's openblas preset), called
 * directly: dsyrk for Gram matrices (half the flops of a general product, which ND4J's wrapper
 * cannot do correctly in 1.0.0-M2.1 — its syrk returned wrong values), LAPACKE dsyev for
 * eigenvalues and dsyevd (divide and conquer, absent from ND4J's Lapack interface) for
 * eigenvectors.
 */
public final class OpenBlasLinearAlgebra implements LinearAlgebra {

    @Override
    public String name() { return "openblas-lapacke"; }

    @Override
    public double[] gram(double[] a, int rows, int cols, boolean leftSide) {
        int n = leftSide ? rows : cols;
        int k = leftSide ? cols : rows;
        double[] g = new double[n * n];
        openblas.cblas_dsyrk(openblas.CblasRowMajor, openblas.CblasUpper,
                leftSide ? openblas.CblasNoTrans : openblas.CblasTrans, n, k, 1.0, a, cols, 0.0, g, n);
        // syrk fills the upper triangle; partial traces read both.
        for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) g[j * n + i] = g[i * n + j];
        return g;
    }

    @Override
    public double[] symmetricEigenvalues(double[] g, int n) {
        double[] work = g.clone();
        double[] w = new double[n];
        // Values only: dsyev measured faster than dsyevd here (2048: 0.49 s vs 0.68 s); both end in dsterf.
        int info = openblas.LAPACKE_dsyev(openblas.LAPACK_ROW_MAJOR, (byte) 'N', (byte) 'U', n, work, n, w);
        if (info != 0) throw new ArithmeticException("LAPACK dsyev failed (info=" + info + ")");
        return reversed(w);
    }

    @Override
    public Eigen symmetricEigen(double[] g, int n) {
        double[] v = g.clone();
        double[] w = new double[n];
        int info = openblas.LAPACKE_dsyevd(openblas.LAPACK_ROW_MAJOR, (byte) 'V', (byte) 'U', n, v, n, w);
        if (info != 0) throw new ArithmeticException("LAPACK dsyevd failed (info=" + info + ")");
        // Row-major result: eigenvector j (ascending) in column j; reorder columns to descending values.
        double[] vectors = new double[n * n];
        for (int r = 0; r < n; r++) for (int j = 0; j < n; j++) vectors[r * n + j] = v[r * n + (n - 1 - j)];
        return new Eigen(reversed(w), vectors, n);
    }

    @Override
    public double[] multiply(double[] a, int aRows, int aCols, boolean transA,
                             double[] b, int bRows, int bCols, boolean transB) {
        int m = transA ? aCols : aRows;
        int k = transA ? aRows : aCols;
        int n = transB ? bRows : bCols;
        int kb = transB ? bCols : bRows;
        if (k != kb) throw new IllegalArgumentException("inner dimensions differ: " + k + " vs " + kb);
        double[] c = new double[m * n];
        openblas.cblas_dgemm(openblas.CblasRowMajor, transA ? openblas.CblasTrans : openblas.CblasNoTrans,
                transB ? openblas.CblasTrans : openblas.CblasNoTrans, m, n, k, 1.0, a, aCols, b, bCols, 0.0, c, n);
        return c;
    }

    private static double[] reversed(double[] asc) {
        double[] d = new double[asc.length];
        for (int i = 0; i < asc.length; i++) d[i] = asc[asc.length - 1 - i];
        return d;
    }
}
