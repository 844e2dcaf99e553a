package dev.entangle.core.engine;

import dev.entangle.core.engine.cuda.CudaLinearAlgebra;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The spectrum engines by name. The default comes from {@code -Dentangle.engine} or
 * {@code ENTANGLE_ENGINE}, else {@value #DEFAULT}: the CUDA engine where a device and the CUDA
 * libraries are present, OpenBLAS otherwise (which says why where its library cannot load: it
 * ships for linux-x86_64 with glibc >= 2.34).
 */
public final class Engines {

    public static final String DEFAULT = "auto";
    /** The CPU engines (OpenBLAS's library is for linux-x86_64; {@link #available} says which load). */
    public static final List<String> NAMES = List.of("openblas", "nd4j");
    public static final String CUDA = "cuda";

    private Engines() {}

    /** The engines that can run in this process: ND4J, OpenBLAS where its library loads, and cuda where it can. */
    public static List<String> available() {
        List<String> names = new ArrayList<>(NAMES);
        if (OpenBlasLinearAlgebra.unavailableReason() != null) names.remove("openblas");
        if (CudaLinearAlgebra.available()) names.add(CUDA);
        return names;
    }

    public static LinearAlgebra named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            // no quiet fallback to ND4J: without this OpenBLAS it runs on 0.3.19 (wrong for adapters of rank >= 128)
            case "auto" -> CudaLinearAlgebra.available() ? CudaLinearAlgebra.shared() : new OpenBlasLinearAlgebra();
            case "openblas", "openblas-lapacke", OpenBlasLinearAlgebra.NAME -> new OpenBlasLinearAlgebra();
            case "nd4j", "nd4j-openblas", "nd4j-openblas-0.3.19", "nd4j-" + OpenBlasLinearAlgebra.NAME -> new Nd4jLinearAlgebra();
            case CUDA, "cuda-ffm" -> CudaLinearAlgebra.shared();
            default -> throw new IllegalArgumentException("unknown engine '" + name + "' (known: auto, " + String.join(", ", NAMES) + ", " + CUDA + ")");
        };
    }

    public static LinearAlgebra fromEnvironment() {
        String name = System.getProperty("entangle.engine");
        if (name == null || name.isBlank()) name = System.getenv("ENTANGLE_ENGINE");
        return named(name == null || name.isBlank() ? DEFAULT : name);
    }
}
