package dev.entangle.core.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The dense kernels the profile algorithms need, with plain row-major double arrays at the
 * boundary so that a backend (ND4J on the CPU, CUDA through FFM) can be swapped without
 * touching the math above it.
 */
public interface LinearAlgebra {

    /** A short name for reports ("nd4j-openblas", "cuda-ffm", ...). */
    String name();

    /**
     * Gram matrix of the row-major {@code rows × cols} view of {@code a}: {@code A·Aᵀ}
     * ({@code rows × rows}) when {@code leftSide}, else {@code Aᵀ·A} ({@code cols × cols}).
     * Result row-major (it is symmetric).
     */
    double[] gram(double[] a, int rows, int cols, boolean leftSide);

    /**
     * L·Lᵀ for a row-major lower-triangular {@code n × n} L, whose entries above the diagonal
     * must be zero (a causal attention matrix): the left Gram of L, which an engine may form in a
     * third of the flops of {@link #gram}. Result row-major, both triangles.
     */
    default double[] lowerTriangularGram(double[] l, int n) {
        return gram(l, n, n, true);
    }

    /** Eigenvalues of a symmetric {@code n × n} matrix (row-major), in descending order. */
    double[] symmetricEigenvalues(double[] g, int n);

    /**
     * Eigenvalues, descending, of a symmetric {@code n × n} matrix G (row-major) and of its
     * rank-one downdate G − y·yᵀ: an attention matrix's A·Aᵀ and A⊥·A⊥ᵀ differ by one such term
     * (see {@code AttentionCardy}). This default solves the two; an engine may share one
     * tridiagonal reduction between them ({@link RankOneDowndate}).
     */
    default Downdated symmetricEigenvaluesDowndated(double[] g, int n, double[] y) {
        RankOneDowndate.check(g, n, y);
        double[] d = g.clone();
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) d[i * n + j] -= y[i] * y[j];
        return new Downdated(symmetricEigenvalues(g, n), symmetricEigenvalues(d, n));
    }

    /** The eigenvalues of G and of G − y·yᵀ, each descending. */
    record Downdated(double[] values, double[] downdated) {}

    /**
     * Eigen-decomposition of a symmetric {@code n × n} matrix: values descending, and
     * {@code vectors} row-major {@code n × n} with eigenvector i in column i.
     */
    Eigen symmetricEigen(double[] g, int n);

    /** {@code op(A)·op(B)} for row-major A, B; op transposes when asked. Result row-major m × n. */
    double[] multiply(double[] a, int aRows, int aCols, boolean transA,
                      double[] b, int bRows, int bCols, boolean transB);

    /**
     * Float32 GEMM (BLAS sgemm) for the model's forward pass, which computes in float32 as the
     * checkpoint's own model does: {@code C = α·op(A)·op(B) + β·C}, op(A) m × k, op(B) k × n.
     * Each operand is a row-major view into an array: the offset of its first element and its
     * leading dimension (the row stride), so one head's columns of a [T, H·d] activation are read
     * and written in place. β = 0 ignores C's old values. Bounds are checked ({@link #checkFloatViews})
     * before any native call.
     */
    void multiplyFloat(boolean transA, boolean transB, int m, int n, int k, float alpha,
                       float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                       float beta, float[] c, int cOffset, int ldc);

    /** Refuses views of {@link #multiplyFloat} that reach outside their arrays or overlap rows. */
    static void checkFloatViews(boolean transA, boolean transB, int m, int n, int k,
                                float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                                float[] c, int cOffset, int ldc) {
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("negative GEMM size " + m + "x" + n + "x" + k);
        checkView("A", a, aOffset, lda, transA ? k : m, transA ? m : k);
        checkView("B", b, bOffset, ldb, transB ? n : k, transB ? k : n);
        checkView("C", c, cOffset, ldc, m, n);
    }

    private static void checkView(String what, float[] x, int offset, int ld, int rows, int cols) {
        if (ld < Math.max(1, cols)) throw new IllegalArgumentException(what + ": leading dimension " + ld + " < " + cols + " columns");
        if (rows == 0 || cols == 0) return;
        long last = offset + (long) (rows - 1) * ld + cols;
        if (offset < 0 || last > x.length) {
            throw new IllegalArgumentException(what + ": a " + rows + "x" + cols + " view at " + offset + " with stride " + ld
                    + " needs " + last + " elements, the array has " + x.length);
        }
    }

    /**
     * Runs independent pieces of work, each of which calls this engine, and returns their results
     * in order. An engine whose calls scale poorly past one core runs them side by side, a core
     * each; the default runs them one after another.
     */
    default <T> List<T> sideBySide(List<? extends Supplier<? extends T>> work) {
        List<T> out = new ArrayList<>(work.size());
        for (Supplier<? extends T> w : work) out.add(w.get());
        return out;
    }

    /** Values descending; vectors row-major with eigenvector i in column i. */
    record Eigen(double[] values, double[] vectors, int n) {}

    /** The shape of {@code op(A)·op(B)}: m × n over the inner dimension k, checked to agree. */
    record Product(int m, int k, int n) {
        public static Product of(int aRows, int aCols, boolean transA, int bRows, int bCols, boolean transB) {
            int k = transA ? aRows : aCols;
            int kb = transB ? bCols : bRows;
            if (k != kb) throw new IllegalArgumentException("inner dimensions differ: " + k + " vs " + kb);
            return new Product(transA ? aCols : aRows, k, transB ? bRows : bCols);
        }
    }
}
