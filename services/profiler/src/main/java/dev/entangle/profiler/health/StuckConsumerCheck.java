package dev.entangle.profiler.health;

import dev.entangle.profiler.config.ProfilerConfig;
import dev.entangle.profiler.messaging.TaskProcessor;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/** Liveness fails when a unit has been running longer than {@code entangle.profiler.stuck-after}. */
@Liveness
@ApplicationScoped
public class StuckConsumerCheck implements HealthCheck {

    @Inject
    TaskProcessor processor;

    @Inject
    ProfilerConfig config;

    @Override
    public HealthCheckResponse call() {
        Instant limit = Instant.now().minus(config.profiler().stuckAfter());
        for (Map.Entry<String, Instant> e : processor.inFlight().entrySet()) {
            if (e.getValue().isBefore(limit)) {
                return HealthCheckResponse.named("profiler-units").down()
                        .withData("stuck", e.getKey())
                        .withData("running_for", Duration.between(e.getValue(), Instant.now()).toString()).build();
            }
        }
        return HealthCheckResponse.named("profiler-units").up().withData("in_flight", processor.inFlight().size()).build();
    }
}
