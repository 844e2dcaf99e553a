package dev.entangle.ingest.messaging;

import dev.entangle.core.CheckpointException;
import dev.entangle.ingest.core.RunOwnershipException;
import dev.entangle.ingest.domain.CheckpointWatch;
import dev.entangle.proto.Topics;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.annotations.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Topics {@value Topics#OBJECT_STORE_EVENTS} (S3-format notifications, as MinIO publishes them)
 * and {@value Topics#CHECKPOINTS_SAVED} (training jobs' CheckpointSaved): checkpoints come in
 * without a client ({@link CheckpointWatch}). One event at a time per topic, in order, so that a
 * folder is never ingested twice at once from one topic. A bad event goes to
 * {@value Topics#INGEST_EVENTS_DLQ} with the reason (the connector's dead-letter strategy);
 * nothing is stored for it.
 */
@ApplicationScoped
public class TrainingClusterEvents {

    private static final Logger LOG = Logger.getLogger(TrainingClusterEvents.class);

    @Inject
    CheckpointWatch watch;

    @Inject
    MeterRegistry registry;

    interface Handler {
        void handle(byte[] payload) throws Exception;
    }

    @Incoming(Topics.OBJECT_STORE_EVENTS)
    @Blocking
    public void notification(byte[] payload) throws Exception {
        handle("object-store", payload, watch::onNotification);
    }

    @Incoming(Topics.CHECKPOINTS_SAVED)
    @Blocking
    public void checkpointSaved(byte[] payload) throws Exception {
        handle("checkpoint-event", payload, watch::onCheckpointSaved);
    }

    private void handle(String via, byte[] payload, Handler h) throws Exception {
        try {
            h.handle(payload);
        } catch (CheckpointException | IllegalArgumentException | RunOwnershipException e) {
            registry.counter("entangle_ingest_events_dead_lettered_total", "via", via).increment();
            LOG.warnf("%s event to %s: %s", via, Topics.INGEST_EVENTS_DLQ, e.getMessage());
            throw e;   // failure-strategy=dead-letter-queue: the event goes there with this reason
        }
    }
}
