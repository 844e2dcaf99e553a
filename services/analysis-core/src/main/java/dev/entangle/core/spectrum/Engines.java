package dev.entangle.core.spectrum;

import java.util.List;
import java.util.Locale;

/**
 * The spectrum engines by name. The default comes from {@code -Dentangle.engine} or
 * {@code ENTANGLE_ENGINE}, else {@value #DEFAULT}.
 */
public final class Engines {

    public static final String DEFAULT = "openblas";
    public static final List<String> NAMES = List.of("openblas", "nd4j");

    private Engines() {}

    public static LinearAlgebra named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "openblas", "openblas-lapacke" -> new OpenBlasLinearAlgebra();
            case "nd4j", "nd4j-openblas" -> new Nd4jLinearAlgebra();
            default -> throw new IllegalArgumentException("unknown engine '" + name + "' (known: " + NAMES + ")");
        };
    }

    public static LinearAlgebra fromEnvironment() {
        String name = System.getProperty("entangle.engine");
        if (name == null || name.isBlank()) name = System.getenv("ENTANGLE_ENGINE");
        return named(name == null || name.isBlank() ? DEFAULT : name);
    }
}
