package dev.entangle.core.engine.cuda;

import dev.entangle.core.engine.LinearAlgebra;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * GPU backend: cuBLAS dgemm for Gram matrices and products, cuSOLVER dsyevd for symmetric
 * eigen-problems, on the installed CUDA toolkit through Java's FFM ({@link CudaLibraries}).
 * Everything in float64, like the CPU engines, so the oracle tolerances hold unchanged.
 *
 * <p>Row-major arrays cross as they are: a row-major r × c matrix is the column-major c × r
 * matrix with leading dimension c, so Gram products and products become cuBLAS calls with the
 * operands' roles swapped, and no transposing copies (the probe's layout trick).
 *
 * <p>One cuBLAS and one cuSOLVER handle per process on the default stream; calls are serialised.
 */
public final class CudaLinearAlgebra implements LinearAlgebra {

    /** The process's engine, or why there is none: found libraries, a device, and both handles made. */
    private static final class Holder {
        static final String[] WHY_NOT = {""};
        static final CudaLinearAlgebra SHARED = start(WHY_NOT);
    }

    private final CudaLibraries cu;
    private final MemorySegment blas;
    private final MemorySegment solver;

    private CudaLinearAlgebra(CudaLibraries cu, MemorySegment blas, MemorySegment solver) {
        this.cu = cu;
        this.blas = blas;
        this.solver = solver;
    }

    /**
     * Finds the libraries, checks for a device and makes the cuBLAS and cuSOLVER handles; any
     * failure (no driver, no device, a device out of memory or held elsewhere) is a reason, never
     * an error, so that "auto" falls back to the CPU.
     */
    private static CudaLinearAlgebra start(String[] whyNot) {
        CudaLibraries.Result found = CudaLibraries.find();
        if (found.libraries().isEmpty()) {
            whyNot[0] = found.whyNot();
            return null;
        }
        CudaLibraries cu = found.libraries().get();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            int rc = (int) cu.cudaGetDeviceCount.invokeExact(count);
            if (rc != 0) {
                whyNot[0] = "cudaGetDeviceCount returned " + rc + " (libraries in " + cu.where + ", no usable driver or device)";
                return null;
            }
            if (count.get(JAVA_INT, 0) < 1) {
                whyNot[0] = "no CUDA device (libraries in " + cu.where + ")";
                return null;
            }
            MemorySegment handle = arena.allocate(ADDRESS);
            rc = (int) cu.cublasCreate.invokeExact(handle);
            if (rc != 0) {
                whyNot[0] = "cublasCreate returned " + rc + " (libraries in " + cu.where + ")";
                return null;
            }
            MemorySegment blas = handle.get(ADDRESS, 0);
            rc = (int) cu.cusolverCreate.invokeExact(handle);
            if (rc != 0) {
                int ignored = (int) cu.cublasDestroy.invokeExact(blas);
                whyNot[0] = "cusolverDnCreate returned " + rc + " (libraries in " + cu.where + ")";
                return null;
            }
            return new CudaLinearAlgebra(cu, blas, handle.get(ADDRESS, 0));
        } catch (Throwable t) {
            whyNot[0] = "CUDA libraries in " + cu.where + " did not answer: " + t;
            return null;
        }
    }

    /** Whether a CUDA device and the libraries are usable in this process. */
    public static boolean available() {
        return Holder.SHARED != null;
    }

    /** Why the CUDA engine cannot run here (empty when it can). */
    public static String unavailableReason() {
        return available() ? "" : Holder.WHY_NOT[0];
    }

    /** The process's CUDA engine; fails with the reason when there is no usable device. */
    public static CudaLinearAlgebra shared() {
        if (!available()) throw new IllegalStateException("the cuda engine cannot run here: " + unavailableReason());
        return Holder.SHARED;
    }

    @Override
    public String name() { return "cuda-ffm"; }

    @Override
    public synchronized double[] gram(double[] a, int rows, int cols, boolean leftSide) {
        int n = leftSide ? rows : cols;
        try (Device d = new Device()) {
            MemorySegment x = d.upload(a);            // column-major cols × rows, ld = cols
            MemorySegment g = d.alloc((long) n * n * Double.BYTES);
            MemorySegment one = d.arena.allocateFrom(JAVA_DOUBLE, 1.0), zero = d.arena.allocateFrom(JAVA_DOUBLE, 0.0);
            if (leftSide) {   // A·Aᵀ = Xᵀ·X
                check((int) cu.cublasDgemm.invokeExact(blas, CudaLibraries.OP_T, CudaLibraries.OP_N, rows, rows, cols,
                        one, x, cols, x, cols, zero, g, rows), "cublasDgemm (A·Aᵀ)");
            } else {          // Aᵀ·A = X·Xᵀ
                check((int) cu.cublasDgemm.invokeExact(blas, CudaLibraries.OP_N, CudaLibraries.OP_T, cols, cols, rows,
                        one, x, cols, x, cols, zero, g, cols), "cublasDgemm (Aᵀ·A)");
            }
            return d.download(g, n * n);              // symmetric: the same in either order
        } catch (Throwable t) {
            throw failure(t);
        }
    }

    @Override
    public synchronized double[] symmetricEigenvalues(double[] g, int n) {
        return solve(g, n, false).values();
    }

    @Override
    public synchronized Eigen symmetricEigen(double[] g, int n) {
        return solve(g, n, true);
    }

    private Eigen solve(double[] g, int n, boolean vectors) {
        int jobz = vectors ? CudaLibraries.EIG_VECTORS : CudaLibraries.EIG_NO_VECTORS;
        try (Device d = new Device()) {
            MemorySegment a = d.upload(g);             // symmetric: row- and column-major agree
            MemorySegment w = d.alloc((long) n * Double.BYTES);
            MemorySegment lwork = d.arena.allocate(JAVA_INT);
            check((int) cu.syevdBufferSize.invokeExact(solver, jobz, CudaLibraries.FILL_LOWER, n, a, n, w, lwork), "cusolverDnDsyevd_bufferSize");
            int work = lwork.get(JAVA_INT, 0);
            MemorySegment ws = d.alloc(Math.max(1L, work) * Double.BYTES);
            MemorySegment info = d.alloc(Integer.BYTES);
            check((int) cu.syevd.invokeExact(solver, jobz, CudaLibraries.FILL_LOWER, n, a, n, w, ws, work, info), "cusolverDnDsyevd");
            MemorySegment hostInfo = d.arena.allocate(JAVA_INT);
            check((int) cu.cudaMemcpy.invokeExact(hostInfo, info, (long) Integer.BYTES, CudaLibraries.DEVICE_TO_HOST), "cudaMemcpy info");
            int i = hostInfo.get(JAVA_INT, 0);
            if (i != 0) throw new ArithmeticException("cusolverDnDsyevd failed (info=" + i + ")");
            double[] ascending = d.download(w, n);
            double[] values = new double[n];
            for (int k = 0; k < n; k++) values[k] = ascending[n - 1 - k];
            if (!vectors) return new Eigen(values, null, n);
            // column-major V: V[r + c·n] is component r of eigenvector c (ascending); row-major, descending out
            double[] v = d.download(a, n * n);
            double[] out = new double[n * n];
            for (int r = 0; r < n; r++) for (int j = 0; j < n; j++) out[r * n + j] = v[r + (n - 1 - j) * n];
            return new Eigen(values, out, n);
        } catch (ArithmeticException e) {
            throw e;
        } catch (Throwable t) {
            throw failure(t);
        }
    }

    @Override
    public synchronized double[] multiply(double[] a, int aRows, int aCols, boolean transA,
                                          double[] b, int bRows, int bCols, boolean transB) {
        Product p = Product.of(aRows, aCols, transA, bRows, bCols, transB);
        int m = p.m(), k = p.k(), n = p.n();
        try (Device d = new Device()) {
            MemorySegment da = d.upload(a), db = d.upload(b);
            MemorySegment c = d.alloc((long) m * n * Double.BYTES);
            MemorySegment one = d.arena.allocateFrom(JAVA_DOUBLE, 1.0), zero = d.arena.allocateFrom(JAVA_DOUBLE, 0.0);
            // row-major C = op(A)·op(B)  ⇔  column-major Cᵀ = op(B)ᵀ·op(A)ᵀ over the stored Bᵀ, Aᵀ
            check((int) cu.cublasDgemm.invokeExact(blas, transB ? CudaLibraries.OP_T : CudaLibraries.OP_N,
                    transA ? CudaLibraries.OP_T : CudaLibraries.OP_N, n, m, k, one, db, bCols, da, aCols, zero, c, n), "cublasDgemm");
            return d.download(c, m * n);
        } catch (Throwable t) {
            throw failure(t);
        }
    }

    /**
     * cuBLAS sgemm, float32 as the model computes. Each view is uploaded as the span from its first
     * to its last element (row stride kept: a row-major view with stride ld is the column-major
     * transpose with leading dimension ld, so the operands swap as in {@link #multiply}); only C's
     * own elements are written back, whatever lies between its rows stays as it was.
     */
    @Override
    public synchronized void multiplyFloat(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                           float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                                           float beta, float[] c, int cOffset, int ldc) {
        LinearAlgebra.checkFloatViews(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc);
        if (m == 0 || n == 0) return;
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        int cSpan = (m - 1) * ldc + n;
        try (Device d = new Device()) {
            MemorySegment da = d.uploadFloats(a, aOffset, k == 0 ? 0 : (aRows - 1) * lda + aCols);
            MemorySegment db = d.uploadFloats(b, bOffset, k == 0 ? 0 : (bRows - 1) * ldb + bCols);
            MemorySegment dc = beta == 0 ? d.alloc((long) cSpan * Float.BYTES) : d.uploadFloats(c, cOffset, cSpan);
            MemorySegment al = d.arena.allocateFrom(JAVA_FLOAT, alpha), be = d.arena.allocateFrom(JAVA_FLOAT, beta);
            check((int) cu.cublasSgemm.invokeExact(blas, transB ? CudaLibraries.OP_T : CudaLibraries.OP_N,
                    transA ? CudaLibraries.OP_T : CudaLibraries.OP_N, n, m, k, al, db, Math.max(1, ldb), da, Math.max(1, lda),
                    be, dc, ldc), "cublasSgemm");
            float[] span = d.downloadFloats(dc, cSpan);
            for (int i = 0; i < m; i++) System.arraycopy(span, i * ldc, c, cOffset + i * ldc, n);
        } catch (Throwable t) {
            throw failure(t);
        }
    }

    private static void check(int rc, String what) {
        if (rc != 0) throw new IllegalStateException(what + " returned " + rc);
    }

    private static RuntimeException failure(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("CUDA call failed", t);
    }

    /** Device buffers of one call, freed together; a confined host arena for staging. */
    private final class Device implements AutoCloseable {
        final Arena arena = Arena.ofConfined();
        private final List<MemorySegment> buffers = new ArrayList<>();

        MemorySegment alloc(long bytes) throws Throwable {
            MemorySegment p = arena.allocate(ADDRESS);
            check((int) cu.cudaMalloc.invokeExact(p, bytes), "cudaMalloc(" + bytes + ")");
            MemorySegment ptr = p.get(ADDRESS, 0);
            buffers.add(ptr);
            return ptr;
        }

        MemorySegment upload(double[] host) throws Throwable {
            MemorySegment staged = arena.allocateFrom(JAVA_DOUBLE, host);
            MemorySegment dev = alloc(staged.byteSize());
            check((int) cu.cudaMemcpy.invokeExact(dev, staged, staged.byteSize(), CudaLibraries.HOST_TO_DEVICE), "cudaMemcpy to device");
            return dev;
        }

        /** {@code count} floats of {@code host} from {@code offset} (at least one element is allocated). */
        MemorySegment uploadFloats(float[] host, int offset, int count) throws Throwable {
            MemorySegment staged = arena.allocate(JAVA_FLOAT, Math.max(1, count));
            MemorySegment.copy(host, offset, staged, JAVA_FLOAT, 0, count);
            MemorySegment dev = alloc(staged.byteSize());
            check((int) cu.cudaMemcpy.invokeExact(dev, staged, staged.byteSize(), CudaLibraries.HOST_TO_DEVICE), "cudaMemcpy to device");
            return dev;
        }

        float[] downloadFloats(MemorySegment dev, int count) throws Throwable {
            MemorySegment staged = arena.allocate(JAVA_FLOAT, count);
            check((int) cu.cudaMemcpy.invokeExact(staged, dev, staged.byteSize(), CudaLibraries.DEVICE_TO_HOST), "cudaMemcpy to host");
            return staged.toArray(JAVA_FLOAT);
        }

        double[] download(MemorySegment dev, int count) throws Throwable {
            MemorySegment staged = arena.allocate(JAVA_DOUBLE, count);
            check((int) cu.cudaMemcpy.invokeExact(staged, dev, staged.byteSize(), CudaLibraries.DEVICE_TO_HOST), "cudaMemcpy to host");
            return staged.toArray(JAVA_DOUBLE);
        }

        @Override
        public void close() {
            MethodHandle free = cu.cudaFree;
            for (MemorySegment b : buffers) {
                try {
                    int rc = (int) free.invokeExact(b);
                    if (rc != 0) System.getLogger(CudaLinearAlgebra.class.getName()).log(System.Logger.Level.WARNING, "cudaFree returned " + rc);
                } catch (Throwable ignored) {
                    // freeing is best effort; the call's own error, if any, is what the caller sees
                }
            }
            arena.close();
        }
    }
}
