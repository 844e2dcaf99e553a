package dev.entangle.ingest.service;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.nio.file.Path;
import java.util.List;

/** checkpoint-ingest settings ({@code entangle.*}); credentials only from configuration or secrets. */
@ConfigMapping(prefix = "entangle")
public interface IngestConfig {

    S3 s3();

    Ingest ingest();

    /** entangle.auth.token: read by the shared bearer-token interceptors (entangle-service-security). */
    Auth auth();

    interface Auth {
        java.util.Optional<String> token();

        /** Tenancy's header (dev.entangle.security.Tenants): the uploading tenant owns the run. */
        java.util.Optional<String> tenantHeader();
    }

    interface S3 {
        String endpoint();

        String accessKey();

        String secretKey();

        @WithDefault("us-east-1")
        String region();

        @WithDefault("entangle")
        String bucket();
    }

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
