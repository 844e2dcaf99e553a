package dev.entangle.ingest.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

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

        /** Checkpoints taken from events: object-store notifications and training jobs' checkpoint events. */
        Watch watch();
    }

    /** entangle.ingest.watch.* (dev.entangle.ingest.domain.CheckpointWatch). */
    interface Watch {
        /**
         * The watched folders, each {@code BUCKET[/PREFIX][;tenant=TENANT][;base=BASE]}; absent:
         * every object-store or checkpoint event is refused (dead-lettered).
         */
        Optional<List<String>> sources();

        /** The file whose arrival says a checkpoint folder is written (HF Trainer writes trainer_state.json last). */
        @WithDefault("trainer_state.json")
        String marker();

        /** First wait before looking again at a folder that lacks files; doubles each time. */
        @WithDefault("PT1S")
        Duration firstBackoff();

        @WithDefault("PT30S")
        Duration maxBackoff();

        /** How long a folder may stay incomplete after its marker before the event is dead-lettered. */
        @WithDefault("PT10M")
        Duration giveUpAfter();
    }
}
