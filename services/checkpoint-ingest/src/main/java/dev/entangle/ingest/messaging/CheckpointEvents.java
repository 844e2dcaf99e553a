package dev.entangle.ingest.messaging;

import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.objectstore.ObjectStoreSettings;
import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.CheckpointIngested;
import dev.entangle.proto.events.v1.Hyperparameters;
import dev.entangle.proto.events.v1.Method;
import dev.entangle.proto.events.v1.Metrics;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.Layout;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;

import java.time.Duration;

/**
 * Topic {@value Topics#CHECKPOINTS_INGESTED}: one {@code CheckpointIngested} per stored
 * checkpoint, keyed by run, built from its manifest. This is the one place a manifest becomes an
 * event; the profiler carries the event's fields on to its tasks and results.
 */
@ApplicationScoped
public class CheckpointEvents {

    @Inject
    ObjectStoreSettings s3;

    @Inject
    @Channel(Topics.CHECKPOINTS_INGESTED)
    MutinyEmitter<byte[]> events;

    /** Publishes the checkpoint's event and waits for the broker's acknowledgement (only then is it marked published). */
    public void publish(CheckpointManifest m) {
        Message<byte[]> msg = Message.of(event(m, s3.bucket()).toByteArray())
                .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(m.run()).build());
        events.sendMessage(msg).await().atMost(Duration.ofSeconds(60));
    }

    static CheckpointIngested event(CheckpointManifest m, String bucket) {
        CheckpointIngested.Builder ev = CheckpointIngested.newBuilder()
                .setCheckpointId(m.id()).setRun(m.run()).setStep(m.step()).setMethod(method(m))
                .setBucket(bucket).setManifestKey(Layout.checkpointManifest(m.id()))
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
        return ev.build();
    }

    /** The events' Method of a manifest's method name; a base model's manifest has none. */
    public static Method method(CheckpointManifest m) {
        return CheckpointKind.ofMethod(m.method()).map(k -> switch (k) {
            case LORA -> Method.LORA;
            case FULL_MODEL -> Method.FFT;
            case MPS -> Method.MPS;
            case DORA -> Method.DORA;
        }).orElse(Method.METHOD_UNSPECIFIED);
    }
}
