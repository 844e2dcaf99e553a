package dev.entangle.profiler.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** profiler settings ({@code entangle.*}). */
@ConfigMapping(prefix = "entangle")
public interface ProfilerConfig {

    Profiler profiler();

    /** entangle.auth.*: the shared access checks' settings (entangle-service-security). */
    dev.entangle.security.AuthSettings auth();

    interface Profiler {
        /** Blob cache and scratch space. */
        @WithDefault("${java.io.tmpdir}/entangle-profiler")
        Path workDir();

        /** Rényi orders computed for every unit besides von Neumann. */
        @WithDefault("2")
        List<Double> renyi();

        /** χ_max of a truncated sweep; absent: exact profiles. */
        Optional<Integer> chiMax();

        /** Keep per-cut spectra in the object store. */
        @WithDefault("true")
        boolean spectra();

        /** Also profile attention without the causal mask. */
        @WithDefault("false")
        boolean unmasked();

        /** Transient-failure retries of one task (object store / broker), with exponential backoff. */
        @WithDefault("16")
        int retries();

        @WithDefault("PT1S")
        Duration firstBackoff();

        /** A unit running longer than this makes the liveness check fail (a stuck consumer). */
        @WithDefault("PT30M")
        Duration stuckAfter();

        /** Spectrum engine: auto (cuda where a device and the CUDA libraries are present, else openblas), openblas, nd4j or cuda. */
        @WithDefault(dev.entangle.core.engine.Engines.DEFAULT)
        String engine();
    }
}
