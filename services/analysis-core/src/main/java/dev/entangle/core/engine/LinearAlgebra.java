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

    /** Eigenvalues of a symmetric {@code n × n} matrix (row-major), in descending order. */
    double[] symmetricEigenvalues(double[] g, int n);

    /**
     * Eigen-decomposition of a symmetric {@code n × n} matrix: values descending, and
     * {@code vectors} row-major {@code n × n} with eigenvector i in column i.
     */
    Eigen symmetricEigen(double[] g, int n);

    /** {@code op(A)·op(B)} for row-major A, B; op transposes when asked. Result row-major m × n. */
    double[] multiply(double[] a, int aRows, int aCols, boolean transA,
                      double[] b, int bRows, int bCols, boolean transB);

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
