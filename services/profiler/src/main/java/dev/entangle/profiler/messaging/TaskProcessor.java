package dev.entangle.profiler.messaging;

import dev.entangle.core.CheckpointException;
import dev.entangle.profiler.config.ProfilerConfig;
import dev.entangle.profiler.domain.UnitWorker;
import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.events.v1.ProfileTask;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.smallrye.reactive.messaging.annotations.Blocking;
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
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Computes work units from the task topic, at most {@code profile-workers} at a time (the
 * consumer pauses instead of piling up work), and publishes each result keyed by run.
 * Transient object-store/broker failures are retried with exponential backoff; bad input
 * (a task that does not parse, a checkpoint that breaks a rule) goes to the dead-letter topic
 * with the reason, through the connector's failure strategy.
 */
@ApplicationScoped
public class TaskProcessor {

    private static final Logger LOG = Logger.getLogger(TaskProcessor.class);

    @Inject
    UnitWorker worker;

    @Inject
    ProfilerConfig config;

    @Inject
    MeterRegistry registry;

    @Inject
    @Channel(Topics.PROFILES_COMPUTED)
    MutinyEmitter<byte[]> results;

    /** Units in progress and when each started, for the liveness check. */
    private final Map<String, Instant> inFlight = new ConcurrentHashMap<>();

    /** Units in progress and when each started (a live view). */
    public Map<String, Instant> inFlight() {
        return java.util.Collections.unmodifiableMap(inFlight);
    }

    @Incoming(Topics.PROFILE_TASKS)
    @Blocking(value = "profile-workers", ordered = false)
    public void process(byte[] payload) throws Exception {
        ProfileTask task = ProfileTask.parseFrom(payload);
        String unit = task.getCheckpointId() + "/" + task.getTarget() + "/" + task.getKind();
        inFlight.put(unit, Instant.now());
        Timer.Sample sample = Timer.start(registry);
        try {
            ProfileComputed r = withRetries(task);
            Message<byte[]> msg = Message.of(r.toByteArray())
                    .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(r.getRun()).build());
            results.sendMessage(msg).await().atMost(Duration.ofSeconds(60));
            String shape = r.getProfilesCount() == 0 ? "none" : r.getProfiles(0).getShapeList().toString();
            sample.stop(registry.timer("entangle_profiler_unit_seconds", "kind", task.getKind().name().toLowerCase(), "shape", shape));
            registry.counter("entangle_profiler_units_total", "outcome", "ok").increment();
        } catch (CheckpointException | IllegalArgumentException e) {
            registry.counter("entangle_profiler_units_total", "outcome", "dead-letter").increment();
            LOG.warnf("unit %s to the dead-letter topic: %s", unit, e.getMessage());
            throw e; // failure-strategy=dead-letter-queue: the task goes there with this reason
        } finally {
            inFlight.remove(unit);
        }
    }

    private ProfileComputed withRetries(ProfileTask task) throws Exception {
        return Retries.withBackoff(task.getTarget(), config, registry, () -> worker.compute(task));
    }
}
