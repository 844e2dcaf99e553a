package dev.entangle.core.engine;

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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Locale;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * OpenBLAS 0.3.31 (the version numpy ships), bound with Java's FFM: the CBLAS and LAPACKE calls
 * {@link OpenBlasLinearAlgebra} makes, as method handles. Its shared objects travel inside
 * analysis-core's jar (unpacked from Maven Central's org.bytedeco:openblas linux-x86_64 jar at
 * build time) and are copied into the user's cache, the library's Fortran runtime beside it.
 * They need linux-x86_64 with glibc >= 2.34. Loaded by path, so it stays apart from
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
    static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112, UPPER = 121, LAPACK_ROW_MAJOR = 101, LAPACK_COL_MAJOR = 102;

    private static final Linker LINKER = Linker.nativeLinker();

    final String config;
    /** The loaded libopenblas, for routines bound outside the engine (the bench's float32 kernels). */
    final SymbolLookup symbols;
    /**
     * The routines, each bound on its first call: binding one spins its own native stub (some
     * 10–20 ms of a start), and a dense profile calls only dsyrk and dsyev.
     */
    final Routine dsyrk, dgemm, dsyev, dsyevd, dsytrd, dsterf, dlauum, setNumThreads, getNumThreads;
    /**
     * cblas_sgemm as a critical call that reads and writes Java arrays in place (the forward
     * pass's activations and weights): no copies in or out. A critical call holds the garbage
     * collector until it returns, which for one GEMM of the forward is a fraction of a second.
     */
    final Routine sgemmInPlace;
    /** cblas_dsyrk as a critical call on Java arrays, for Grams small enough to hold the collector ({@link OpenBlasLinearAlgebra#gram}). */
    final Routine dsyrkInPlace;

    private OpenBlasLibrary(SymbolLookup lib) {
        symbols = lib;
        // cblas_dsyrk(order, uplo, trans, n, k, alpha, A, lda, beta, C, ldc), copied or in place
        MemoryLayout[] dsyrkArgs = {JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_DOUBLE, ADDRESS, JAVA_INT, JAVA_DOUBLE, ADDRESS, JAVA_INT};
        dsyrk = new Routine(lib, "cblas_dsyrk", null, dsyrkArgs);
        dsyrkInPlace = new Routine(lib, "cblas_dsyrk", true, null, dsyrkArgs);
        // cblas_dgemm(order, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
        dgemm = new Routine(lib, "cblas_dgemm", null, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_DOUBLE, ADDRESS, JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_DOUBLE, ADDRESS, JAVA_INT);
        // LAPACKE_dsyev[d](layout, jobz, uplo, n, A, lda, w) → info
        dsyev = new Routine(lib, "LAPACKE_dsyev", JAVA_INT, JAVA_INT, JAVA_BYTE, JAVA_BYTE, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS);
        dsyevd = new Routine(lib, "LAPACKE_dsyevd", JAVA_INT, JAVA_INT, JAVA_BYTE, JAVA_BYTE, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS);
        // LAPACKE_dsytrd(layout, uplo, n, A, lda, d, e, tau) → info; LAPACKE_dsterf(n, d, e) → info
        dsytrd = new Routine(lib, "LAPACKE_dsytrd", JAVA_INT, JAVA_INT, JAVA_BYTE, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        dsterf = new Routine(lib, "LAPACKE_dsterf", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
        // LAPACKE_dlauum(layout, uplo, n, A, lda) → info: U·Uᵀ or Lᵀ·L of a triangular factor, in place
        dlauum = new Routine(lib, "LAPACKE_dlauum", JAVA_INT, JAVA_INT, JAVA_BYTE, JAVA_INT, ADDRESS, JAVA_INT);
        setNumThreads = new Routine(lib, "openblas_set_num_threads", null, JAVA_INT);
        getNumThreads = new Routine(lib, "openblas_get_num_threads", JAVA_INT);
        // cblas_sgemm(order, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
        sgemmInPlace = new Routine(lib, "cblas_sgemm", true, null,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT);
        try {
            config = ((MemorySegment) new Routine(lib, "openblas_get_config", ADDRESS).handle().invokeExact()).reinterpret(256).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException("openblas_get_config failed", t);
        }
    }

    /** One routine of the library: its symbol found at load (a missing one fails then), its handle bound on first use. */
    static final class Routine {
        private final MemorySegment symbol;
        private final FunctionDescriptor descriptor;
        private final Linker.Option[] options;
        private volatile MethodHandle handle;

        private Routine(SymbolLookup lib, String name, MemoryLayout result, MemoryLayout... args) {
            this(lib, name, false, result, args);
        }

        /** {@code critical}: a call that may read and write heap arrays in place (Linker.Option.critical). */
        private Routine(SymbolLookup lib, String name, boolean critical, MemoryLayout result, MemoryLayout... args) {
            symbol = lib.find(name).orElseThrow(() -> new IllegalStateException("OpenBLAS " + VERSION + " has no " + name));
            descriptor = result == null ? FunctionDescriptor.ofVoid(args) : FunctionDescriptor.of(result, args);
            this.options = critical ? new Linker.Option[] {Linker.Option.critical(true)} : new Linker.Option[0];
        }

        /** The downcall handle (bound once; two threads binding it at once get equal handles). */
        MethodHandle handle() {
            MethodHandle h = handle;
            if (h == null) handle = h = LINKER.downcallHandle(symbol, descriptor, options);
            return h;
        }
    }

    /** Loaded once, when this class is first used; where that fails, why (and get() says so). */
    private static final OpenBlasLibrary INSTANCE;
    private static final String FAILURE;

    static {
        OpenBlasLibrary lib = null;
        String why = null;
        try {
            lib = load();
        } catch (RuntimeException | LinkageError e) {
            why = e.getMessage() != null ? e.getMessage() : e.toString();
        }
        INSTANCE = lib;
        FAILURE = why;
    }

    /** The library; an IllegalStateException says why it cannot load here. */
    static OpenBlasLibrary get() {
        if (INSTANCE == null) throw new IllegalStateException("OpenBLAS " + VERSION + " cannot load: " + FAILURE);
        return INSTANCE;
    }

    /** Why the library cannot load here, or null when it has. */
    static String failure() { return FAILURE; }

    private static OpenBlasLibrary load() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new IllegalStateException("the OpenBLAS engine ships for linux-x86_64 only (glibc >= 2.34), this is " + os + "/" + arch);
        }
        Path dir = extract();
        SymbolLookup lookup = null;
        for (String f : FILES) {
            try {
                lookup = SymbolLookup.libraryLookup(dir.resolve(f), Arena.global());
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("cannot load " + dir.resolve(f) + " (it needs linux-x86_64 with glibc >= 2.34): " + e.getMessage(), e);
            }
        }
        OpenBlasLibrary lib = new OpenBlasLibrary(lookup);
        // the build unpacks the pom's openblas.engine.version; this class names its results by VERSION
        if (!lib.config.startsWith("OpenBLAS " + VERSION + " ")) {
            throw new IllegalStateException("the unpacked library is \"" + lib.config + "\", not OpenBLAS " + VERSION + ": update OpenBlasLibrary.VERSION with the pom");
        }
        return lib;
    }

    /**
     * Copies the shared objects out of the jar into this user's cache (XDG_CACHE_HOME or
     * ~/.cache, a folder only its owner may enter), so that a foreign or half-copied file is
     * never loaded: a copy is written beside its name and moved into place atomically, and a
     * file found there is loaded only once its SHA-256 has matched the one the build recorded
     * beside the jar's copy ({@link CachedCopy}). Where that cache cannot be written, a fresh
     * private temporary folder serves this process.
     */
    private static Path extract() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path cache = (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache"))
                .resolve("entangle").resolve("openblas-" + VERSION);
        try {
            return extractInto(cache, false);
        } catch (IOException | RuntimeException inCache) {
            try {
                return extractInto(Files.createTempDirectory("entangle-openblas-"), true);
            } catch (IOException e) {
                e.addSuppressed(inCache);
                throw new UncheckedIOException("cannot unpack OpenBLAS into " + cache + " nor a temporary folder", e);
            }
        }
    }

    static Path extractInto(Path dir, boolean deleteOnExit) throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        if (deleteOnExit) dir.toFile().deleteOnExit();
        for (String f : FILES) {
            CachedCopy copy = new CachedCopy(dir.resolve(f), recordedDigest(f));
            if (deleteOnExit) copy.deleteOnExit();   // deleted in reverse order: files before their folder
            if (copy.verified()) continue;
            try (InputStream in = OpenBlasLibrary.class.getResourceAsStream(RESOURCES + f)) {
                if (in == null) throw new IllegalStateException(RESOURCES + f + " is not on the class path (analysis-core built without its OpenBLAS)");
                copy.replaceFrom(in);
            }
        }
        return dir;
    }

    /** The SHA-256 the build recorded for a shared object in the jar ({@code FILE.sha256}, hex). */
    private static String recordedDigest(String f) throws IOException {
        try (InputStream in = OpenBlasLibrary.class.getResourceAsStream(RESOURCES + f + ".sha256")) {
            if (in == null) throw new IllegalStateException(RESOURCES + f + ".sha256 is not on the class path (analysis-core built without its digests)");
            String hex = new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip();
            int space = hex.indexOf(' ');
            return (space > 0 ? hex.substring(0, space) : hex).toLowerCase(Locale.ROOT);
        }
    }

}
