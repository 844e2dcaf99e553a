package dev.entangle.ingest.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.nio.file.Path;
import java.util.List;

/** checkpoint-ingest settings ({@code entangle.*}); credentials only from configuration or secrets. */
@ConfigMapping(prefix = "entangle")
public interface IngestConfig {

    Ingest ingest();

    /** entangle.auth.*: the shared access checks' settings (entangle-service-security). */
    dev.entangle.security.AuthSettings auth();

    interface Ingest {
        /** Local scratch space for uploads in flight (emptied after each). */
        @WithDefault("${java.io.tmpdir}/entangle-ingest")
        Path spoolDir();

        /** Linear modules whose W is stored for full models (FFT checkpoints and bases). */
        @WithDefault("q_proj,v_proj")
        List<String> fftModules();

        /** Largest accepted upload, all files together. */
        @WithDefault("68719476736")
        long maxUploadBytes();
    }
}
