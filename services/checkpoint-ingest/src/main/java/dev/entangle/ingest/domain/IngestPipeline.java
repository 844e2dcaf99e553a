package dev.entangle.ingest.domain;

import dev.entangle.core.CheckpointException;
import dev.entangle.ingest.core.CheckpointIngester;
import dev.entangle.ingest.core.IngestOutcome;
import dev.entangle.ingest.core.IngestRequest;
import dev.entangle.ingest.messaging.CheckpointEvents;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.Layout;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Ingest then announce: stores the checkpoint (ingest-core validates it first), publishes its
 * {@code CheckpointIngested} only after every object is written, then records the
 * acknowledgement so that a repeat is a no-op.
 */
@ApplicationScoped
public class IngestPipeline {

    private static final Logger LOG = Logger.getLogger(IngestPipeline.class);

    @Inject
    CheckpointIngester ingester;

    @Inject
    CheckpointEvents events;

    @Inject
    MeterRegistry registry;

    /**
     * A checkpoint folder (spooled upload or registered prefix; {@code req.source()} names it as
     * the user does); {@code baseModelName} set: register a base.
     */
    public IngestResult ingest(Path dir, IngestRequest req, String baseModelName) throws IOException {
        return ingest(dir, req, baseModelName, List.of());
    }

    /** As {@link #ingest(Path, IngestRequest, String)}; a base registers with the probe set {@code probeTokens} (when not empty). */
    public IngestResult ingest(Path dir, IngestRequest req, String baseModelName, List<Integer> probeTokens) throws IOException {
        try {
            IngestOutcome outcome = baseModelName != null && !baseModelName.isBlank()
                    ? ingester.registerBase(dir, baseModelName, probeTokens)
                    : ingester.ingest(dir, req);
            CheckpointManifest m = outcome.manifest();
            IngestResult.State state = switch (outcome.state()) {
                case NEW -> IngestResult.State.NEW;
                case UNPUBLISHED -> IngestResult.State.REPUBLISHED;
                case DUPLICATE -> IngestResult.State.DUPLICATE;
            };
            if (outcome.needsEvent() && !m.isBase()) {
                events.publish(m);
                ingester.markPublished(m.id());
            }
            registry.counter("entangle_ingest_uploads_total", "outcome", state.name().toLowerCase()).increment();
            registry.counter("entangle_ingest_bytes_stored_total").increment(outcome.bytesStored());
            LOG.infof("ingested %s %s step %s as %s (%s)", m.method(), m.run(), m.step(), m.id(), state);
            outcome.notes().forEach(n -> LOG.infof("  %s", n));
            IngestResult.Builder r = IngestResult.newBuilder().setCheckpointId(m.id()).setState(state)
                    .setMethod(CheckpointEvents.method(m)).setBaseModel(m.isBase())
                    .addAllTargets(m.targets()).setBytesStored(outcome.bytesStored()).addAllNotes(outcome.notes());
            if (m.run() != null) r.setRun(m.run()).setStep(m.step()).setManifestKey(Layout.checkpointManifest(m.id()));
            else r.setManifestKey(Layout.baseManifest(m.id()));
            return r.build();
        } catch (CheckpointException e) {
            registry.counter("entangle_ingest_rejections_total", "rule", e.rule()).increment();
            throw e;
        } catch (IllegalArgumentException e) {
            registry.counter("entangle_ingest_rejections_total", "rule", "invalid request").increment();
            throw e;
        }
    }

    /** Refuses a tenant's upload to a run another tenant owns (RunOwnershipException), from its header alone. */
    public void requireOwner(String run, String tenant) throws IOException {
        ingester.requireOwner(run, tenant, "upload header");
    }
}
