package dev.entangle.core.engine.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The installed CUDA runtime, cuBLAS and cuSOLVER, bound with Java's FFM (no native build, no
 * ND4J): the calls {@link CudaLinearAlgebra} makes, as method handles. CUDA 13 (libcublas.so.13,
 * libcusolver.so.12) and CUDA 12 (…so.12, …so.11) are looked for in ENTANGLE_CUDA_LIB_DIR,
 * CUDA_HOME/lib64, /usr/local/cuda/lib64 (and its targets folder), LD_LIBRARY_PATH, and the
 * loader's own path. Signatures as in the FFM probe (docs/platform-notes.md), which
 * ran on an H100 and matched torch.
 */
// Binding native libraries is what this class is for: its restricted FFM calls are allowed at run
// time by --enable-native-access=ALL-UNNAMED, which every launcher here passes.
@SuppressWarnings("restricted")
final class CudaLibraries {

    /** cudaMemcpyKind. */
    static final int HOST_TO_DEVICE = 1, DEVICE_TO_HOST = 2;
    /** cublasOperation_t. */
    static final int OP_N = 0, OP_T = 1;
    /** cusolverEigMode_t and cublasFillMode_t. */
    static final int EIG_NO_VECTORS = 0, EIG_VECTORS = 1, FILL_LOWER = 0;

    private static final Linker LINKER = Linker.nativeLinker();

    /** Sonames per toolkit, newest first: {cudart, cublas, cusolver}. */
    private static final String[][] TOOLKITS = {
            {"libcudart.so.13", "libcublas.so.13", "libcusolver.so.12"},
            {"libcudart.so.12", "libcublas.so.12", "libcusolver.so.11"},
    };

    final String where;
    final MethodHandle cudaGetDeviceCount, cudaMalloc, cudaFree, cudaMemcpy;
    final MethodHandle cublasCreate, cublasDestroy, cublasDgemm, cublasSgemm;
    final MethodHandle cusolverCreate, syevdBufferSize, syevd;

    private CudaLibraries(SymbolLookup cudart, SymbolLookup cublas, SymbolLookup cusolver, String where) {
        this.where = where;
        cudaGetDeviceCount = fn(cudart, "cudaGetDeviceCount", JAVA_INT, ADDRESS);
        cudaMalloc = fn(cudart, "cudaMalloc", JAVA_INT, ADDRESS, JAVA_LONG);
        cudaFree = fn(cudart, "cudaFree", JAVA_INT, ADDRESS);
        cudaMemcpy = fn(cudart, "cudaMemcpy", JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT);
        cublasCreate = fn(cublas, "cublasCreate_v2", JAVA_INT, ADDRESS);
        cublasDestroy = fn(cublas, "cublasDestroy_v2", JAVA_INT, ADDRESS);
        // (handle, transa, transb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc), column-major
        cublasDgemm = fn(cublas, "cublasDgemm_v2", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
        // the same, in float32 (the forward pass)
        cublasSgemm = fn(cublas, "cublasSgemm_v2", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
        cusolverCreate = fn(cusolver, "cusolverDnCreate", JAVA_INT, ADDRESS);
        // (handle, jobz, uplo, n, A, lda, W, *lwork)
        syevdBufferSize = fn(cusolver, "cusolverDnDsyevd_bufferSize", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        // (handle, jobz, uplo, n, A, lda, W, work, lwork, devInfo)
        syevd = fn(cusolver, "cusolverDnDsyevd", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
    }

    /** The libraries, if a toolkit's three are found and load; else why not. */
    static Result find() {
        List<String> tried = new ArrayList<>();
        for (String[] toolkit : TOOLKITS) {
            for (Path dir : searchPath()) {
                Path rt = dir.resolve(toolkit[0]), bl = dir.resolve(toolkit[1]), so = dir.resolve(toolkit[2]);
                if (!Files.exists(rt) || !Files.exists(bl) || !Files.exists(so)) {
                    tried.add(dir + "/{" + String.join(",", toolkit) + "}");
                    continue;
                }
                try {
                    Arena global = Arena.global();
                    return new Result(Optional.of(new CudaLibraries(SymbolLookup.libraryLookup(rt, global),
                            SymbolLookup.libraryLookup(bl, global), SymbolLookup.libraryLookup(so, global), dir.toString())), "");
                } catch (RuntimeException | LinkageError e) {
                    tried.add(dir + ": " + e.getMessage());
                }
            }
            // the loader's own search path (ldconfig, LD_LIBRARY_PATH) by soname
            try {
                Arena global = Arena.global();
                return new Result(Optional.of(new CudaLibraries(SymbolLookup.libraryLookup(toolkit[0], global),
                        SymbolLookup.libraryLookup(toolkit[1], global), SymbolLookup.libraryLookup(toolkit[2], global), "loader path")), "");
            } catch (RuntimeException | LinkageError e) {
                tried.add(String.join(",", toolkit) + " by soname: " + e.getMessage());
            }
        }
        return new Result(Optional.empty(), "no CUDA 12/13 runtime + cuBLAS + cuSOLVER found (tried " + String.join("; ", tried) + ")");
    }

    record Result(Optional<CudaLibraries> libraries, String whyNot) {}

    private static List<Path> searchPath() {
        Set<String> dirs = new LinkedHashSet<>();
        String own = System.getenv("ENTANGLE_CUDA_LIB_DIR");
        if (own != null && !own.isBlank()) dirs.add(own);
        String home = System.getenv("CUDA_HOME");
        if (home != null && !home.isBlank()) dirs.add(home + "/lib64");
        dirs.add("/usr/local/cuda/lib64");
        dirs.add("/usr/local/cuda/targets/x86_64-linux/lib");
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) for (String d : ld.split(":")) if (!d.isBlank()) dirs.add(d);
        return dirs.stream().map(Path::of).filter(Files::isDirectory).toList();
    }

    private static MethodHandle fn(SymbolLookup lib, String name, MemoryLayout ret, MemoryLayout... args) {
        var address = lib.find(name).orElseThrow(() -> new IllegalStateException("symbol " + name + " missing"));
        return LINKER.downcallHandle(address, FunctionDescriptor.of(ret, args));
    }
}
