package dev.entangle.core.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * CPU backend on OpenBLAS {@value OpenBlasLibrary#VERSION} through Java's FFM
 * ({@link OpenBlasLibrary}): dsyrk for Gram matrices (half the flops of a general product),
 * LAPACKE dsyev for eigenvalues (values only: measured faster than dsyevd here, 2048: 0.47 s vs
 * 0.47–0.70 s; both end in dsterf) and dsyevd (divide and conquer) for eigenvectors. Callable
 * from any thread, each call with OpenBLAS's own threads (one per core, see {@link #threadsPerCall}). Arrays are copied into
 * native memory for a call rather than pinned: a pinned heap array would hold the garbage
 * collector for the whole of a multi-second solve.
 */
public final class OpenBlasLinearAlgebra implements LinearAlgebra {

    private final OpenBlasLibrary lib = OpenBlasLibrary.get();

    /** Why the library cannot load here, or null where it has. */
    public static String unavailableReason() {
        return OpenBlasLibrary.failure();
    }

    /** The engine's name in reports and results, with the library's version: results of the 0.3.19 engine read "openblas-lapacke". */
    public static final String NAME = "openblas-" + OpenBlasLibrary.VERSION;

    @Override
    public String name() { return NAME; }

    /** OpenBLAS's build line, e.g. "OpenBLAS 0.3.31 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64". */
    public String config() { return lib.config; }

    /**
     * How many threads each call may use, for the whole process (OpenBLAS's setting is global;
     * its default is one per core). A process that makes several calls at once (the profiler's
     * workers) gives each its share of the cores: oversubscribed, a 1B-shaped FFT checkpoint took
     * 36.7 s to profile on 2 cores with 2 workers, against 20.5 s with one thread each.
     */
    public static void threadsPerCall(int threads) {
        synchronized (Lanes.class) {
            Lanes.threads = Math.max(1, threads);
            if (!Lanes.busy) setThreads(Lanes.threads);   // a running group restores this setting when it ends
        }
    }

    /** The process's threads per call (OpenBLAS's own count until {@link #threadsPerCall} sets one). */
    public static int threadsPerCall() {
        synchronized (Lanes.class) {
            if (Lanes.threads == 0) {
                try {
                    Lanes.threads = Math.max(1, (int) OpenBlasLibrary.get().getNumThreads.handle().invokeExact());
                } catch (Throwable t) {
                    throw rethrown("openblas_get_num_threads", t);
                }
            }
            return Lanes.threads;
        }
    }

    private static void setThreads(int threads) {
        try {
            OpenBlasLibrary.get().setNumThreads.handle().invokeExact(threads);
        } catch (Throwable t) {
            throw rethrown("openblas_set_num_threads", t);
        }
    }

    /**
     * Side by side, a core and one OpenBLAS thread each, where this process's calls have more
     * than one thread: the tridiagonal reduction that is most of an eigen-solve is bound by
     * memory traffic and gains little from a second thread (1024 wide, 0.133 s on one against
     * 0.112 s on two), so two solves on a core each finish well before two in turn on both. One
     * group at a time per process (the thread count is the process's): a group started while
     * another runs, or from inside one, runs its pieces in turn. The pieces are taken in order
     * as lanes come free, so the longest should come first.
     */
    @Override
    public <T> List<T> sideBySide(List<? extends Supplier<? extends T>> work) {
        int lanes;
        synchronized (Lanes.class) {
            lanes = Math.min(threadsPerCall(), work.size());
            if (lanes < 2 || Lanes.busy) lanes = 1;
            else {
                Lanes.busy = true;
                setThreads(1);
            }
        }
        if (lanes == 1) return LinearAlgebra.super.sideBySide(work);
        try {
            return Lanes.run(work, lanes);
        } finally {
            synchronized (Lanes.class) {
                Lanes.busy = false;
                setThreads(Lanes.threads);
            }
        }
    }

    /** The process's lanes: its threads per call, whether a group holds them, and the threads that run a group. */
    private static final class Lanes {
        static int threads;
        static boolean busy;
        private static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "openblas-lane");
            t.setDaemon(true);
            return t;
        });

        /** The pieces on {@code lanes} threads (the caller's among them), results in order; the first failure is rethrown once all have ended. */
        static <T> List<T> run(List<? extends Supplier<? extends T>> work, int lanes) {
            int n = work.size();
            Object[] results = new Object[n];
            AtomicInteger next = new AtomicInteger();
            Runnable lane = () -> {
                for (int i; (i = next.getAndIncrement()) < n; ) results[i] = work.get(i).get();
            };
            List<Future<?>> others = new ArrayList<>(lanes - 1);
            for (int l = 1; l < lanes; l++) others.add(POOL.submit(lane));
            Throwable failure = null;
            try {
                lane.run();
            } catch (RuntimeException | Error e) {
                failure = e;
            }
            for (Future<?> f : others) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    if (failure == null) failure = e.getCause();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    if (failure == null) failure = new IllegalStateException("interrupted while the lanes ran", e);
                }
            }
            if (failure instanceof RuntimeException r) throw r;
            if (failure instanceof Error e) throw e;
            if (failure != null) throw new IllegalStateException(failure);
            @SuppressWarnings("unchecked")
            List<T> out = (List<T>) Arrays.asList(results);
            return out;
        }
    }

    /**
     * The largest Gram (n²·k) made in place, by a critical call on the Java arrays themselves: a
     * critical call holds every safepoint, the collector's among them, until it returns, and 2048³
     * is some 0.15 s on two cores. In place, a 2048² Gram skips copying its 32 MB in and its 32 MB
     * out through fresh native memory (0.25 s against 0.15 s); a larger one is copied, as that is
     * then the smaller part of its time and no thread should wait seconds for a safepoint.
     */
    static final double IN_PLACE_GRAM_MAX = Math.pow(2048, 3);

    @Override
    public double[] gram(double[] a, int rows, int cols, boolean leftSide) {
        int n = leftSide ? rows : cols;
        int k = leftSide ? cols : rows;
        return gram(a, rows, cols, leftSide, (double) n * n * k <= IN_PLACE_GRAM_MAX);
    }

    /** The Gram in place (a critical call on the arrays) or copied through native memory. */
    double[] gram(double[] a, int rows, int cols, boolean leftSide, boolean inPlace) {
        int n = leftSide ? rows : cols;
        int k = leftSide ? cols : rows;
        // the critical call reads A where it lies: an array shorter than rows × cols would be read past its end
        if (a.length < (long) rows * cols) throw new IllegalArgumentException("A has " + a.length + " values, fewer than " + rows + " × " + cols);
        double[] g = new double[n * n];
        int trans = leftSide ? OpenBlasLibrary.NO_TRANS : OpenBlasLibrary.TRANS;
        try {
            if (inPlace) {
                lib.dsyrkInPlace.handle().invokeExact(OpenBlasLibrary.ROW_MAJOR, OpenBlasLibrary.UPPER, trans, n, k, 1.0,
                        MemorySegment.ofArray(a), cols, 0.0, MemorySegment.ofArray(g), n);
            } else {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment pa = arena.allocateFrom(JAVA_DOUBLE, a);
                    MemorySegment pg = arena.allocate(JAVA_DOUBLE, (long) n * n);
                    lib.dsyrk.handle().invokeExact(OpenBlasLibrary.ROW_MAJOR, OpenBlasLibrary.UPPER, trans, n, k, 1.0, pa, cols, 0.0, pg, n);
                    MemorySegment.copy(pg, JAVA_DOUBLE, 0, g, 0, g.length);
                }
            }
        } catch (Throwable t) {
            throw rethrown("cblas_dsyrk", t);
        }
        mirrorUpper(g, n);   // syrk fills the upper triangle; partial traces read both
        return g;
    }

    /**
     * L·Lᵀ through LAPACK's dlauum, n³/3 flops against dsyrk's n³ (1024 wide on one thread: 0.015 s
     * against 0.030 s). dlauum forms U·Uᵀ of an upper-triangular U; with J the reversal, U = J·L·J
     * (L read end to end) is upper triangular and L·Lᵀ = J·U·Uᵀ·J. The row-major U seen
     * column-major is Uᵀ, whose lower triangle dlauum ('L') turns into (Uᵀ)ᵀ·Uᵀ = U·Uᵀ: the
     * row-major upper triangle of U·Uᵀ, which read end to end again is L·Lᵀ's lower triangle.
     */
    @Override
    public double[] lowerTriangularGram(double[] l, int n) {
        if (l.length != (long) n * n) throw new IllegalArgumentException("L has " + l.length + " values, not " + n + "²");
        double[] g = new double[l.length];
        int last = l.length - 1;
        int info;
        try (Arena arena = Arena.ofConfined()) {
            // reversed on the way in and on the way out, with no array of its own (a 1024² head: 8 MB each)
            MemorySegment pu = arena.allocate(JAVA_DOUBLE, l.length);
            for (int k = 0; k <= last; k++) pu.setAtIndex(JAVA_DOUBLE, last - k, l[k]);
            info = (int) lib.dlauum.handle().invokeExact(OpenBlasLibrary.LAPACK_COL_MAJOR, (byte) 'L', n, pu, n);
            for (int k = 0; k <= last; k++) g[k] = pu.getAtIndex(JAVA_DOUBLE, last - k);
        } catch (Throwable t) {
            throw rethrown("LAPACKE_dlauum", t);
        }
        if (info != 0) throw new ArithmeticException("LAPACK dlauum failed (info=" + info + ")");
        mirrorLower(g, n);
        return g;
    }

    @Override
    public double[] symmetricEigenvalues(double[] g, int n) {
        double[] w = new double[n];
        int info;
        // the native copy is LAPACK's workspace: g itself is left as it was. Passed as column-major
        // with its lower triangle, which are the same numbers as the row-major upper one: LAPACKE
        // would otherwise transpose the matrix into a copy of its own, and back (2048 wide: 0.81 s
        // against 0.90 s on one thread)
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pa = arena.allocateFrom(JAVA_DOUBLE, g);
            MemorySegment pw = arena.allocate(JAVA_DOUBLE, n);
            info = (int) lib.dsyev.handle().invokeExact(OpenBlasLibrary.LAPACK_COL_MAJOR, (byte) 'N', (byte) 'L', n, pa, n, pw);
            MemorySegment.copy(pw, JAVA_DOUBLE, 0, w, 0, n);
        } catch (Throwable t) {
            throw rethrown("LAPACKE_dsyev", t);
        }
        if (info != 0) throw new ArithmeticException("LAPACK dsyev failed (info=" + info + ")");
        return reversed(w);
    }

    /**
     * One tridiagonal reduction for both spectra ({@link RankOneDowndate}): dsytrd (lower) of
     * B = P·G·P (its upper triangle, which is what the column-major lower reduction reads), then
     * dsterf on (d, e) and on (d − ‖y‖²·e₁, e). dsyev's values-only path is the same dsytrd and
     * dsterf, so each spectrum is as accurate as a solve of its own (1024 wide on one thread:
     * dsytrd 0.08 s, dsterf 0.011–0.018 s, against dsyev 0.10–0.14 s).
     */
    @Override
    public Downdated symmetricEigenvaluesDowndated(double[] g, int n, double[] y) {
        double[] b = RankOneDowndate.reflectedUpper(g, n, y);
        double shift = RankOneDowndate.squaredNorm(y);
        double[] values = new double[n];
        double[] downdated = new double[n];
        int off = Math.max(1, n - 1);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pa = arena.allocateFrom(JAVA_DOUBLE, b);
            MemorySegment pd = arena.allocate(JAVA_DOUBLE, n);
            MemorySegment pe = arena.allocate(JAVA_DOUBLE, off);
            MemorySegment tau = arena.allocate(JAVA_DOUBLE, off);
            int info = (int) lib.dsytrd.handle().invokeExact(OpenBlasLibrary.LAPACK_COL_MAJOR, (byte) 'L', n, pa, n, pd, pe, tau);
            if (info != 0) throw new ArithmeticException("LAPACK dsytrd failed (info=" + info + ")");
            MemorySegment pd2 = arena.allocate(JAVA_DOUBLE, n);
            MemorySegment pe2 = arena.allocate(JAVA_DOUBLE, off);
            MemorySegment.copy(pd, 0, pd2, 0, 8L * n);
            MemorySegment.copy(pe, 0, pe2, 0, 8L * off);
            pd2.set(JAVA_DOUBLE, 0, pd.get(JAVA_DOUBLE, 0) - shift);   // B₁₁ − ‖y‖²: the only entry the downdate moves
            solveTridiagonal(pd, pe, n, values);
            solveTridiagonal(pd2, pe2, n, downdated);
        } catch (Throwable t) {
            throw rethrown("LAPACKE_dsytrd", t);
        }
        return new Downdated(reversed(values), reversed(downdated));
    }

    /** dsterf on (d, e) in place; the eigenvalues, ascending, into {@code out}. */
    private void solveTridiagonal(MemorySegment d, MemorySegment e, int n, double[] out) throws Throwable {
        int info = (int) lib.dsterf.handle().invokeExact(n, d, e);
        if (info != 0) throw new ArithmeticException("LAPACK dsterf failed (info=" + info + ")");
        MemorySegment.copy(d, JAVA_DOUBLE, 0, out, 0, n);
    }

    @Override
    public Eigen symmetricEigen(double[] g, int n) {
        double[] v = new double[n * n];
        double[] w = new double[n];
        int info;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pa = arena.allocateFrom(JAVA_DOUBLE, g);
            MemorySegment pw = arena.allocate(JAVA_DOUBLE, n);
            info = (int) lib.dsyevd.handle().invokeExact(OpenBlasLibrary.LAPACK_ROW_MAJOR, (byte) 'V', (byte) 'U', n, pa, n, pw);
            MemorySegment.copy(pa, JAVA_DOUBLE, 0, v, 0, v.length);
            MemorySegment.copy(pw, JAVA_DOUBLE, 0, w, 0, n);
        } catch (Throwable t) {
            throw rethrown("LAPACKE_dsyevd", t);
        }
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
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pa = arena.allocateFrom(JAVA_DOUBLE, a);
            MemorySegment pb = arena.allocateFrom(JAVA_DOUBLE, b);
            MemorySegment pc = arena.allocate(JAVA_DOUBLE, (long) m * n);
            lib.dgemm.handle().invokeExact(OpenBlasLibrary.ROW_MAJOR, transA ? OpenBlasLibrary.TRANS : OpenBlasLibrary.NO_TRANS,
                    transB ? OpenBlasLibrary.TRANS : OpenBlasLibrary.NO_TRANS, m, n, k, 1.0, pa, aCols, pb, bCols, 0.0, pc, n);
            MemorySegment.copy(pc, JAVA_DOUBLE, 0, c, 0, c.length);
        } catch (Throwable t) {
            throw rethrown("cblas_dgemm", t);
        }
        return c;
    }

    @Override
    public void multiplyFloat(boolean transA, boolean transB, int m, int n, int k, float alpha,
                              float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                              float beta, float[] c, int cOffset, int ldc) {
        LinearAlgebra.checkFloatViews(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc);
        if (m == 0 || n == 0) return;
        try {
            // heap segments of the arrays themselves: the critical call reads and writes them in place
            lib.sgemmInPlace.handle().invokeExact(OpenBlasLibrary.ROW_MAJOR, transA ? OpenBlasLibrary.TRANS : OpenBlasLibrary.NO_TRANS,
                    transB ? OpenBlasLibrary.TRANS : OpenBlasLibrary.NO_TRANS, m, n, k, alpha,
                    MemorySegment.ofArray(a).asSlice(4L * aOffset), lda, MemorySegment.ofArray(b).asSlice(4L * bOffset), ldb,
                    beta, MemorySegment.ofArray(c).asSlice(4L * cOffset), ldc);
        } catch (Throwable t) {
            throw rethrown("cblas_sgemm", t);
        }
    }

    /**
     * The loaded library's symbols, for a caller that binds further OpenBLAS routines itself
     * (the bench's float32 Gram and solve, which profiles never use) on this same library
     * rather than loading a second copy.
     */
    public SymbolLookup symbols() { return lib.symbols; }

    private static RuntimeException rethrown(String call, Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("OpenBLAS " + call + " failed", t);
    }

    /** Copies the upper triangle of a row-major n × n matrix onto the lower, in cache-sized tiles. */
    static void mirrorUpper(double[] g, int n) { mirror(g, n, true); }

    /** Copies the lower triangle of a row-major n × n matrix onto the upper. */
    static void mirrorLower(double[] g, int n) { mirror(g, n, false); }

    private static void mirror(double[] g, int n, boolean upperToLower) {
        final int tile = 64;
        for (int ib = 0; ib < n; ib += tile) {
            for (int jb = ib; jb < n; jb += tile) {
                int iEnd = Math.min(ib + tile, n), jEnd = Math.min(jb + tile, n);
                for (int i = ib; i < iEnd; i++) {
                    for (int j = Math.max(jb, i + 1); j < jEnd; j++) {
                        if (upperToLower) g[j * n + i] = g[i * n + j];
                        else g[i * n + j] = g[j * n + i];
                    }
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
