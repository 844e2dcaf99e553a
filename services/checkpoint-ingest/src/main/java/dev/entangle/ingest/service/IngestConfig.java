package dev.entangle.ingest.service;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.nio.file.Path;
import java.util.List;

/** checkpoint-ingest settings ({@code entangle.*}); credentials only from configuration or secrets. */
@ConfigMapping(prefix = "entangle")
public interface IngestConfig {


    Ingest ingest();

    /** entangle.auth.token: read by the shared bearer-token interceptors (entangle-service-security). */
    Auth auth();

    interface Auth {
        java.util.Optional<String> token();

        /**
         * Tenancy's header. Read through dev.entangle.security.Tenants; declared here because this
         * root mapping of "entangle" refuses keys it does not know at start-up.
         */
        java.util.Optional<String> tenantHeader();

        /** "required": mutual TLS (dev.entangle.security.ClientCertificateFilter); declared for the same reason. */
        java.util.Optional<String> clientCertificate();
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
