package dev.entangle.ingest.service;

import dev.entangle.core.CheckpointException;
import dev.entangle.objectstore.ObjectStoreSettings;
import dev.entangle.store.CheckpointIngester;
import dev.entangle.store.IngestOutcome;
import dev.entangle.store.IngestRequest;
import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.CheckpointIngested;
import dev.entangle.proto.events.v1.Hyperparameters;
import dev.entangle.proto.events.v1.Method;
import dev.entangle.proto.events.v1.Metrics;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.Layout;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Ingest then announce: stores the checkpoint (validated by analysis-core first), publishes
 * {@code CheckpointIngested} keyed by run only after every object is written, then records the
 * acknowledgement so that a repeat is a no-op.
 */
@ApplicationScoped
public class IngestPipeline {

    private static final Logger LOG = Logger.getLogger(IngestPipeline.class);

    @Inject
    CheckpointIngester ingester;

    @Inject
    ObjectStoreSettings s3;

    @Inject
    MeterRegistry registry;

    @Inject
    @Channel(Topics.CHECKPOINTS_INGESTED)
    MutinyEmitter<byte[]> events;

    /** A checkpoint folder (spooled upload or registered prefix); {@code baseModelName} set: register a base. */
    public IngestResult ingest(Path dir, IngestRequest req, String baseModelName) throws IOException {
        try {
            IngestOutcome outcome = baseModelName != null && !baseModelName.isBlank()
                    ? ingester.registerBase(dir, baseModelName)
                    : ingester.ingest(dir, req);
            CheckpointManifest m = outcome.manifest();
            IngestResult.State state = switch (outcome.state()) {
                case NEW -> IngestResult.State.NEW;
                case UNPUBLISHED -> IngestResult.State.REPUBLISHED;
                case DUPLICATE -> IngestResult.State.DUPLICATE;
            };
            if (outcome.needsEvent() && !"base".equals(m.method())) {
                publish(m);
                ingester.markPublished(m.id());
            }
            registry.counter("entangle_ingest_uploads_total", "outcome", state.name().toLowerCase()).increment();
            registry.counter("entangle_ingest_bytes_stored_total").increment(outcome.bytesStored());
            LOG.infof("ingested %s %s step %s as %s (%s)", m.method(), m.run(), m.step(), m.id(), state);
            IngestResult.Builder r = IngestResult.newBuilder().setCheckpointId(m.id()).setState(state)
                    .setMethod(m.method()).addAllTargets(m.targets()).setBytesStored(outcome.bytesStored());
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

    private void publish(CheckpointManifest m) {
        CheckpointIngested.Builder ev = CheckpointIngested.newBuilder()
                .setCheckpointId(m.id()).setRun(m.run()).setStep(m.step()).setMethod(method(m.method()))
                .setBucket(s3.bucket()).setManifestKey(Layout.checkpointManifest(m.id()))
                .addAllTargets(m.targets()).setHasProbe(m.probe() != null).setIngestedAtMs(m.createdAtMs());
        if (m.baseId() != null) ev.setBaseId(m.baseId());
        if (m.tenant() != null) ev.setTenant(m.tenant());
        if (m.hyper() != null) {
            Hyperparameters.Builder h = Hyperparameters.newBuilder();
            if (m.hyper().r() != null) h.setR(m.hyper().r());
            if (m.hyper().loraAlpha() != null) h.setLoraAlpha(m.hyper().loraAlpha());
            if (m.hyper().rslora() != null) h.setRslora(m.hyper().rslora());
            if (m.hyper().bondDim() != null) h.setBondDim(m.hyper().bondDim());
            if (m.hyper().learningRate() != null) h.setLearningRate(m.hyper().learningRate());
            ev.setHyper(h);
        }
        if (m.metrics() != null) {
            Metrics.Builder mt = Metrics.newBuilder();
            if (m.metrics().trainLoss() != null) mt.setTrainLoss(m.metrics().trainLoss());
            if (m.metrics().testLoss() != null) mt.setTestLoss(m.metrics().testLoss());
            ev.setMetrics(mt);
        }
        Message<byte[]> msg = Message.of(ev.build().toByteArray())
                .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(m.run()).build());
        // Waits for the broker's acknowledgement: only then is the checkpoint marked published.
        events.sendMessage(msg).await().atMost(Duration.ofSeconds(60));
    }

    static Method method(String m) {
        return switch (m) {
            case "lora" -> Method.LORA;
            case "fft" -> Method.FFT;
            case "mps" -> Method.MPS;
            default -> Method.METHOD_UNSPECIFIED;
        };
    }
}
