package dev.entangle.bench;

import dev.entangle.core.engine.OpenBlasLinearAlgebra;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A reduced density matrix's spectrum in float32 throughout (cblas_ssyrk for the Gram matrix,
 * then LAPACKE_ssyev): what a float32 profile would compute. Profiles never use it (they
 * accumulate in double); {@code entangle bench --kernels} times it and measures its entropy
 * error against float64. Bound here, on the engine's already loaded OpenBLAS
 * ({@link OpenBlasLinearAlgebra#symbols()}), so the product carries no float32 kernel.
 */
// Binding native routines is what this class is for: the launcher and surefire pass --enable-native-access=ALL-UNNAMED.
@SuppressWarnings("restricted")
final class Float32Spectrum {

    /** cblas.h's CBLAS_ORDER / CBLAS_TRANSPOSE / CBLAS_UPLO values, and LAPACKE's row-major layout. */
    private static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112, UPPER = 121, LAPACK_ROW_MAJOR = 101;

    private final MethodHandle ssyrk, ssyev;

    Float32Spectrum(OpenBlasLinearAlgebra blas) {
        SymbolLookup lib = blas.symbols();
        Linker linker = Linker.nativeLinker();
        // cblas_ssyrk(order, uplo, trans, n, k, alpha, A, lda, beta, C, ldc)
        ssyrk = linker.downcallHandle(find(lib, "cblas_ssyrk"), FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_FLOAT, ADDRESS, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT));
        // LAPACKE_ssyev(layout, jobz, uplo, n, A, lda, w) → info
        ssyev = linker.downcallHandle(find(lib, "LAPACKE_ssyev"), FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_BYTE, JAVA_BYTE, JAVA_INT,
                ADDRESS, JAVA_INT, ADDRESS));
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new IllegalStateException("the engine's OpenBLAS has no " + name));
    }

    /**
     * Eigenvalues (descending) of the Gram matrix of a float32 copy of the row-major
     * {@code rows × cols} view of {@code a}: ρ_L = A·Aᵀ with {@code leftSide}, else ρ_R = Aᵀ·A.
     */
    double[] gramEigenvalues(double[] a, int rows, int cols, boolean leftSide) {
        int n = leftSide ? rows : cols;
        int k = leftSide ? cols : rows;
        float[] af = new float[a.length];
        for (int i = 0; i < a.length; i++) af[i] = (float) a[i];
        float[] w = new float[n];
        int info;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pa = arena.allocateFrom(JAVA_FLOAT, af);
            MemorySegment pg = arena.allocate(JAVA_FLOAT, (long) n * n);
            MemorySegment pw = arena.allocate(JAVA_FLOAT, n);
            ssyrk.invokeExact(ROW_MAJOR, UPPER, leftSide ? NO_TRANS : TRANS, n, k, 1.0f, pa, cols, 0.0f, pg, n);
            info = (int) ssyev.invokeExact(LAPACK_ROW_MAJOR, (byte) 'N', (byte) 'U', n, pg, n, pw);
            MemorySegment.copy(pw, JAVA_FLOAT, 0, w, 0, n);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("OpenBLAS cblas_ssyrk/LAPACKE_ssyev failed", t);
        }
        if (info != 0) throw new ArithmeticException("LAPACK ssyev failed (info=" + info + ")");
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = w[n - 1 - i];   // ssyev returns them ascending
        return d;
    }
}
