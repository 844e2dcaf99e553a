package dev.entangle.core.engine;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J (nd4j-native, OpenBLAS) backend: gemm for Gram products and LAPACK syev for symmetric
 * eigen-problems. Deliberately not ND4J's custom Svd op (crashes the JVM in 1.0.0-M2.1) nor
 * level3().syrk (wrong values there) — see docs/platform-notes.md.
 */
public final class Nd4jLinearAlgebra implements LinearAlgebra {

    /**
     * ND4J's natives ask the loader for libopenblas.so.0 by soname, so loading the OpenBLAS
     * engine's library first (OpenBLAS 0.3.31) makes ND4J run on it rather than on the 0.3.19 its
     * JavaCPP presets ship, whose eigen-solves returned wrong low-rank spectra (ND4J on it: a 2048²
     * ΔW of rank 256 off by 0.9 nats). EnginesTest#nd4jRunsOnTheEnginesOpenBlas checks the binding.
     * Where that library cannot load, ND4J keeps its own, and says so.
     */
    static {
        if (OpenBlasLinearAlgebra.unavailableReason() != null) {
            org.slf4j.LoggerFactory.getLogger(Nd4jLinearAlgebra.class).error(
                    "ND4J runs on its own OpenBLAS 0.3.19, wrong for adapters of rank >= 128 profiled from their factors: {}",
                    OpenBlasLinearAlgebra.unavailableReason());
        }
    }

    /** With the OpenBLAS it runs on: results of the 0.3.19 days read "nd4j-openblas". */
    @Override
    public String name() { return OpenBlasLinearAlgebra.unavailableReason() == null ? "nd4j-" + OpenBlasLinearAlgebra.NAME : "nd4j-openblas-0.3.19"; }

    @Override
    public double[] gram(double[] a, int rows, int cols, boolean leftSide) {
        try (INDArray m = Nd4j.create(a, new long[]{rows, cols}, 'c');
             INDArray g = leftSide ? Nd4j.gemm(m, m, false, true) : Nd4j.gemm(m, m, true, false)) {
            return toRowMajor(g);
        }
    }

    @Override
    public double[] symmetricEigenvalues(double[] g, int n) {
        try (INDArray a = Nd4j.create(g, new long[]{n, n}, 'f'); // symmetric: 'f' view of row-major data is the same matrix
             INDArray w = Nd4j.create(DataType.DOUBLE, n)) {
            int info = Nd4j.getBlasWrapper().lapack().syev('N', 'U', a, w);
            if (info != 0) throw new ArithmeticException("LAPACK dsyev failed to converge (info=" + info + ")");
            return descending(w.toDoubleVector());
        }
    }

    @Override
    public Eigen symmetricEigen(double[] g, int n) {
        try (INDArray a = Nd4j.create(g, new long[]{n, n}, 'f');
             INDArray w = Nd4j.create(DataType.DOUBLE, n)) {
            int info = Nd4j.getBlasWrapper().lapack().syev('V', 'U', a, w);
            if (info != 0) throw new ArithmeticException("LAPACK dsyev failed to converge (info=" + info + ")");
            double[] asc = w.toDoubleVector();
            // a now holds eigenvectors as columns (column-major); reverse to descending order.
            double[] colMajor = a.dup('f').data().asDouble();
            double[] values = new double[n];
            double[] vectors = new double[n * n];
            for (int i = 0; i < n; i++) {
                int src = n - 1 - i;
                values[i] = asc[src];
                for (int r = 0; r < n; r++) vectors[r * n + i] = colMajor[src * n + r];
            }
            return new Eigen(values, vectors, n);
        }
    }

    @Override
    public double[] multiply(double[] a, int aRows, int aCols, boolean transA,
                             double[] b, int bRows, int bCols, boolean transB) {
        Product.of(aRows, aCols, transA, bRows, bCols, transB);   // the same refusal as the other engines
        try (INDArray x = Nd4j.create(a, new long[]{aRows, aCols}, 'c');
             INDArray y = Nd4j.create(b, new long[]{bRows, bCols}, 'c');
             INDArray z = Nd4j.gemm(x, y, transA, transB)) {
            return toRowMajor(z);
        }
    }

    @Override
    public void multiplyFloat(boolean transA, boolean transB, int m, int n, int k, float alpha,
                              float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                              float beta, float[] c, int cOffset, int ldc) {
        LinearAlgebra.checkFloatViews(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc);
        if (m == 0 || n == 0) return;
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        try (INDArray x = Nd4j.create(packed(a, aOffset, lda, aRows, aCols), new long[]{aRows, aCols}, 'c');
             INDArray y = Nd4j.create(packed(b, bOffset, ldb, bRows, bCols), new long[]{bRows, bCols}, 'c');
             INDArray z = Nd4j.gemm(x, y, transA, transB);
             INDArray zc = z.dup('c')) {
            float[] p = zc.data().asFloat();
            for (int i = 0; i < m; i++) {
                int row = cOffset + i * ldc;
                for (int j = 0; j < n; j++) c[row + j] = alpha * p[i * n + j] + (beta == 0 ? 0 : beta * c[row + j]);
            }
        }
    }

    /** The rows × cols view at {@code offset} with stride {@code ld}, copied contiguous. */
    private static float[] packed(float[] x, int offset, int ld, int rows, int cols) {
        float[] p = new float[rows * cols];
        for (int i = 0; i < rows; i++) System.arraycopy(x, offset + i * ld, p, i * cols, cols);
        return p;
    }

    private static double[] toRowMajor(INDArray x) {
        if (x.ordering() == 'c' && !x.isView()) return x.data().asDouble();
        try (INDArray c = x.dup('c')) {
            return c.data().asDouble();
        }
    }

    private static double[] descending(double[] asc) {
        double[] d = new double[asc.length];
        for (int i = 0; i < asc.length; i++) d[i] = asc[asc.length - 1 - i];
        return d;
    }
}
