package dev.entangle.core.spectrum;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;

/**
 * CPU backend on the OpenBLAS/LAPACK that nd4j-native ships (JavaCPP's openblas preset), called
 * directly: dsyrk for Gram matrices (half the flops of a general product, which ND4J's wrapper
 * cannot do correctly in 1.0.0-M2.1 — its syrk returned wrong values), LAPACKE dsyev for
 * eigenvalues and dsyevd (divide and conquer, absent from ND4J's Lapack interface) for
 * eigenvectors.
 */
public final class OpenBlasLinearAlgebra implements LinearAlgebra {

    /**
     * Every native call runs on this one thread. This OpenBLAS build (0.3.19, JavaCPP 1.5.7,
     * pthreads) returned wrong spectra when several Java threads used it: called concurrently,
     * entropies were off by up to 1.5 nats in 20 of 20 trials (with OPENBLAS_NUM_THREADS=1 too).
     * Confined to one caller thread, Gram products and products are right with every core, but
     * the multi-threaded eigen-solvers (dsyev, dsyevd) still went wrong (up to 1.2 nats) while
     * other Java threads were busy; single-threaded they are right. So eigen-solves run on one
     * OpenBLAS thread unless this process has one computing thread
     * ({@code -Dentangle.openblas.parallel-eigen=true}, which the CLI sets): measured 2048² dense
     * profile 0.85 s with parallel eigen-solves, 1.16 s without. EnginesTest#concurrentCallsAgree
     * guards it.
     */
    private static final java.util.concurrent.ExecutorService NATIVE = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "openblas-caller");
        t.setDaemon(true);
        return t;
    });

    /**
     * OpenBLAS's thread count for Gram products and products (its default: the cores), read on
     * the native thread at the first eigen-solve (not in a static initialiser: the native thread
     * would wait for this class's initialisation while it waits for the native thread).
     */
    private static int blasThreads;

    private final boolean parallelEigen = Boolean.getBoolean("entangle.openblas.parallel-eigen");

    /** Runs a native call on the one caller thread and waits for it. */
    private static <T> T onNativeThread(java.util.concurrent.Callable<T> call) {
        try {
            return NATIVE.submit(call).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for OpenBLAS", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        }
    }

    @Override
    public String name() { return "openblas-lapacke"; }

    @Override
    public double[] gram(double[] a, int rows, int cols, boolean leftSide) {
        int n = leftSide ? rows : cols;
        int k = leftSide ? cols : rows;
        double[] g = new double[n * n];
        onNativeThread(() -> {
            try (DoublePointer pa = new DoublePointer(a); DoublePointer pg = new DoublePointer((long) n * n)) {
                openblas.cblas_dsyrk(openblas.CblasRowMajor, openblas.CblasUpper,
                        leftSide ? openblas.CblasNoTrans : openblas.CblasTrans, n, k, 1.0, pa, cols, 0.0, pg, n);
                pg.get(g);
            }
            return null;
        });
        mirrorUpper(g, n);   // syrk fills the upper triangle; partial traces read both
        return g;
    }

    @Override
    public double[] symmetricEigenvalues(double[] g, int n) {
        double[] w = new double[n];
        // Values only: dsyev measured faster than dsyevd here (2048: 0.49 s vs 0.68 s); both end in dsterf.
        int info = onNativeThread(() -> {
            // the native copy is LAPACK's workspace: g itself is left as it was
            try (DoublePointer pa = new DoublePointer(g); DoublePointer pw = new DoublePointer(n)) {
                int r = eigenThreads(() -> openblas.LAPACKE_dsyev(openblas.LAPACK_ROW_MAJOR, (byte) 'N', (byte) 'U', n, pa, n, pw));
                pw.get(w);
                return r;
            }
        });
        if (info != 0) throw new ArithmeticException("LAPACK dsyev failed (info=" + info + ")");
        return reversed(w);
    }

    @Override
    public Eigen symmetricEigen(double[] g, int n) {
        double[] v = g.clone();
        double[] w = new double[n];
        int info = onNativeThread(() -> {
            try (DoublePointer pa = new DoublePointer(v); DoublePointer pw = new DoublePointer(n)) {
                int r = eigenThreads(() -> openblas.LAPACKE_dsyevd(openblas.LAPACK_ROW_MAJOR, (byte) 'V', (byte) 'U', n, pa, n, pw));
                pa.get(v);
                pw.get(w);
                return r;
            }
        });
        if (info != 0) throw new ArithmeticException("LAPACK dsyevd failed (info=" + info + ")");
        // Row-major result: eigenvector j (ascending) in column j; reorder columns to descending values.
        double[] vectors = new double[n * n];
        for (int r = 0; r < n; r++) for (int j = 0; j < n; j++) vectors[r * n + j] = v[r * n + (n - 1 - j)];
        return new Eigen(reversed(w), vectors, n);
    }

    @Override
    public double[] multiply(double[] a, int aRows, int aCols, boolean transA,
                             double[] b, int bRows, int bCols, boolean transB) {
        Product p = Product.of(aRows, aCols, transA, bRows, bCols, transB);
        int m = p.m(), k = p.k(), n = p.n();
        double[] c = new double[m * n];
        onNativeThread(() -> {
            try (DoublePointer pa = new DoublePointer(a); DoublePointer pb = new DoublePointer(b); DoublePointer pc = new DoublePointer((long) m * n)) {
                openblas.cblas_dgemm(openblas.CblasRowMajor, transA ? openblas.CblasTrans : openblas.CblasNoTrans,
                        transB ? openblas.CblasTrans : openblas.CblasNoTrans, m, n, k, 1.0, pa, aCols, pb, bCols, 0.0, pc, n);
                pc.get(c);
            }
            return null;
        });
        return c;
    }

    /**
     * Eigenvalues (descending) of the Gram matrix of a float32 copy of the row-major
     * {@code rows × cols} view of {@code a}, in float32 throughout (ssyrk, then ssyev): what a
     * float32 profile would compute. Profiles never use it; {@code entangle bench --kernels}
     * times it and reports its entropy error against float64.
     */
    public double[] float32GramEigenvalues(double[] a, int rows, int cols, boolean leftSide) {
        int n = leftSide ? rows : cols;
        int k = leftSide ? cols : rows;
        float[] w = new float[n];
        int info = onNativeThread(() -> {
            float[] af = new float[a.length];
            for (int i = 0; i < a.length; i++) af[i] = (float) a[i];
            try (FloatPointer pa = new FloatPointer(af); FloatPointer pg = new FloatPointer((long) n * n); FloatPointer pw = new FloatPointer(n)) {
                openblas.cblas_ssyrk(openblas.CblasRowMajor, openblas.CblasUpper,
                        leftSide ? openblas.CblasNoTrans : openblas.CblasTrans, n, k, 1.0f, pa, cols, 0.0f, pg, n);
                int r = eigenThreads(() -> openblas.LAPACKE_ssyev(openblas.LAPACK_ROW_MAJOR, (byte) 'N', (byte) 'U', n, pg, n, pw));
                pw.get(w);
                return r;
            }
        });
        if (info != 0) throw new ArithmeticException("LAPACK ssyev failed (info=" + info + ")");
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = w[n - 1 - i];
        return d;
    }

    /** Runs an eigen-solve (on the native thread) with one OpenBLAS thread unless parallel eigen-solves are safe here. */
    private int eigenThreads(java.util.function.IntSupplier solve) {
        if (parallelEigen) return solve.getAsInt();
        if (blasThreads == 0) blasThreads = org.bytedeco.openblas.presets.openblas_nolapack.blas_get_num_threads();
        org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(1);
        try {
            return solve.getAsInt();
        } finally {
            org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(blasThreads);
        }
    }

    /** Copies the upper triangle of a row-major n × n matrix onto the lower, in cache-sized tiles. */
    static void mirrorUpper(double[] g, int n) {
        final int tile = 64;
        for (int ib = 0; ib < n; ib += tile) {
            for (int jb = ib; jb < n; jb += tile) {
                int iEnd = Math.min(ib + tile, n), jEnd = Math.min(jb + tile, n);
                for (int i = ib; i < iEnd; i++) {
                    for (int j = Math.max(jb, i + 1); j < jEnd; j++) g[j * n + i] = g[i * n + j];
                }
            }
        }
    }

    private static double[] reversed(double[] asc) {
        double[] d = new double[asc.length];
        for (int i = 0; i < asc.length; i++) d[i] = asc[asc.length - 1 - i];
        return d;
    }
}
