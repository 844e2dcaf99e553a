package dev.entangle.core.spectrum;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * OpenBLAS 0.3.31 (the version numpy ships), bound with Java's FFM: the CBLAS and LAPACKE calls
 * {@link OpenBlasLinearAlgebra} makes, as method handles. Its shared objects travel inside
 * analysis-core's jar (unpacked from Maven Central's org.bytedeco:openblas linux-x86_64 jar at
 * build time) and are copied once per user and version into the temporary directory, where the
 * library's Fortran runtime is loaded from beside it. Loaded by path, so it stays apart from
 * the older OpenBLAS that ND4J loads through JavaCPP.
 *
 * <p>Why not that older one (0.3.19, JavaCPP 1.5.7): called from several Java threads it returned
 * wrong spectra (off by up to 1.5 nats), and it had to be confined to one caller thread with
 * single-threaded eigen-solves. This one is checked under concurrent callers by
 * EnginesTest#concurrentCallsAgree.
 */
// Binding a native library is what this class is for: its restricted FFM calls are allowed at run
// time by --enable-native-access=ALL-UNNAMED, which every launcher here passes.
@SuppressWarnings("restricted")
final class OpenBlasLibrary {

    static final String VERSION = "0.3.31";
    /**
     * The shared objects, in the order they are loaded: each one's dependencies first, so that the
     * loader finds them by soname among those already loaded. libgcc_s, which every Linux system
     * has and the JVM already uses, is the system's.
     */
    private static final List<String> FILES = List.of("libquadmath.so.0", "libgfortran.so.5", "libopenblas.so.0");
    private static final String RESOURCES = "/dev/entangle/natives/linux-x86_64/";

    /** CBLAS enums and LAPACKE's row-major layout. */
    static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112, UPPER = 121, LAPACK_ROW_MAJOR = 101;

    private static final Linker LINKER = Linker.nativeLinker();

    final String config;
    final MethodHandle dsyrk, ssyrk, dgemm, dsyev, dsyevd, ssyev, setNumThreads;

    private OpenBlasLibrary(SymbolLookup lib) {
        // cblas_?syrk(order, uplo, trans, n, k, alpha, A, lda, beta, C, ldc)
        dsyrk = fn(lib, "cblas_dsyrk", null, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_DOUBLE, ADDRESS, JAVA_INT, JAVA_DOUBLE, ADDRESS, JAVA_INT);
        ssyrk = fn(lib, "cblas_ssyrk", null, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT);
        // cblas_dgemm(order, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
        dgemm = fn(lib, "cblas_dgemm", null, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_DOUBLE, ADDRESS, JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_DOUBLE, ADDRESS, JAVA_INT);
        // LAPACKE_?syev[d](layout, jobz, uplo, n, A, lda, w) → info
        dsyev = fn(lib, "LAPACKE_dsyev", JAVA_INT, JAVA_INT, JAVA_BYTE, JAVA_BYTE, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS);
        dsyevd = fn(lib, "LAPACKE_dsyevd", JAVA_INT, JAVA_INT, JAVA_BYTE, JAVA_BYTE, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS);
        ssyev = fn(lib, "LAPACKE_ssyev", JAVA_INT, JAVA_INT, JAVA_BYTE, JAVA_BYTE, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS);
        setNumThreads = fn(lib, "openblas_set_num_threads", null, JAVA_INT);
        try {
            config = ((MemorySegment) fn(lib, "openblas_get_config", ADDRESS).invokeExact()).reinterpret(256).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException("openblas_get_config failed", t);
        }
    }

    private static final class Holder {
        static final OpenBlasLibrary INSTANCE = load();
    }

    /** The library, loaded on first use; an IllegalStateException says why it cannot be. */
    static OpenBlasLibrary get() {
        return Holder.INSTANCE;
    }

    private static OpenBlasLibrary load() {
        String os = System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new IllegalStateException("the OpenBLAS engine ships for linux-x86_64 only, this is " + os + "/" + arch);
        }
        Path dir = extract();
        SymbolLookup lib = null;
        for (String f : FILES) lib = SymbolLookup.libraryLookup(dir.resolve(f), Arena.global());
        return new OpenBlasLibrary(lib);
    }

    /** Copies the shared objects out of the jar once per user and version (atomically: a half-copied file is never loaded). */
    private static Path extract() {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "entangle-openblas-" + VERSION + "-" + System.getProperty("user.name", "user"));
        try {
            Files.createDirectories(dir);
            for (String f : FILES) {
                Path target = dir.resolve(f);
                try (InputStream in = OpenBlasLibrary.class.getResourceAsStream(RESOURCES + f)) {
                    if (in == null) throw new IllegalStateException(RESOURCES + f + " is not on the class path (analysis-core built without its OpenBLAS)");
                    byte[] bytes = in.readAllBytes();
                    if (Files.exists(target) && Files.size(target) == bytes.length) continue;
                    Path tmp = Files.createTempFile(dir, f, ".part");
                    Files.write(tmp, bytes);
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                }
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot unpack OpenBLAS into " + dir, e);
        }
    }

    private static MethodHandle fn(SymbolLookup lib, String name, MemoryLayout result, MemoryLayout... args) {
        MemorySegment symbol = lib.find(name).orElseThrow(() -> new IllegalStateException("OpenBLAS " + VERSION + " has no " + name));
        return LINKER.downcallHandle(symbol, result == null ? FunctionDescriptor.ofVoid(args) : FunctionDescriptor.of(result, args));
    }
}
