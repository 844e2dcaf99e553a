package dev.entangle.profiler.messaging;

import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.profiler.config.ProfilerConfig;
import dev.entangle.profiler.domain.UnitPlanner;
import dev.entangle.profiler.domain.UnitWorker;
import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.AnalysisSettings;
import dev.entangle.proto.events.v1.CheckpointIngested;
import dev.entangle.proto.events.v1.ProfileTask;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.Layout;
import dev.entangle.store.ObjectStore;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * Turns each CheckpointIngested into work units on the task topic, keyed by checkpoint id.
 * A redelivered event plans the same units again; their results replace, never duplicate.
 */
@ApplicationScoped
public class CheckpointPlanner {

    private static final Logger LOG = Logger.getLogger(CheckpointPlanner.class);

    @Inject
    ObjectStore store;

    @Inject
    ProfilerConfig config;

    @Inject
    io.micrometer.core.instrument.MeterRegistry registry;

    @Inject
    AnalysisSettings settings;

    @Inject
    UnitWorker worker;

    @Inject
    @Channel(Topics.PROFILE_TASKS_OUT)
    MutinyEmitter<byte[]> tasks;

    @Incoming(Topics.CHECKPOINTS_INGESTED)
    @Blocking
    public void plan(byte[] payload) throws Exception {
        CheckpointIngested ev = CheckpointIngested.parseFrom(payload);   // does not parse: dead letter at once
        // the object store may be briefly away: retried with backoff, not dead-lettered
        CheckpointManifest m = Retries.withBackoff("plan " + ev.getCheckpointId(), config, registry, () ->
                CheckpointManifest.fromJson(store.read(ev.getManifestKey()).orElseThrow(() ->
                        new IOException("manifest " + ev.getManifestKey() + " not in the object store"))));
        // no probe of its own: the forward pass on the base's first probe set, where it has one
        CheckpointManifest base = ev.getHasProbe() || m.baseId() == null ? null
                : Retries.withBackoff("plan " + ev.getCheckpointId(), config, registry, () ->
                        store.read(Layout.baseManifest(m.baseId())).map(CheckpointPlanner::manifest).orElse(null));
        String forwardSet = base == null || base.probeSetsOrEmpty().isEmpty() ? null : base.probeSetsOrEmpty().getFirst().id();
        // a full model runs on its own config.json, an adapter on its base's (as LlamaForward.of does)
        boolean fullModel = CheckpointKind.ofMethod(m.method()).orElse(null) == CheckpointKind.FULL_MODEL;
        int modelLayers = forwardSet == null ? 0 : (fullModel ? m.config() : base.config()).path("num_hidden_layers").asInt(0);
        List<ProfileTask> units = UnitPlanner.plan(ev, m.probeLayers(), settings, worker.computesAttention(), forwardSet, modelLayers);
        for (ProfileTask t : units) {
            // keyed per unit, not per checkpoint: one checkpoint's units spread over the partitions,
            // so that replicas share a big checkpoint
            Message<byte[]> msg = Message.of(t.toByteArray())
                    .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(UnitPlanner.taskKey(t)).build());
            tasks.sendMessage(msg).await().atMost(Duration.ofSeconds(60));
        }
        LOG.infof("planned %d units for %s step %d (%s)%s", units.size(), ev.getRun(), ev.getStep(), ev.getCheckpointId(),
                forwardSet == null ? "" : ", attention from its forward pass on " + m.baseId() + "'s probe set " + forwardSet);
    }

    private static CheckpointManifest manifest(byte[] json) {
        try {
            return CheckpointManifest.fromJson(json);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("stored base manifest is not readable: " + e.getMessage(), e);
        }
    }
}
