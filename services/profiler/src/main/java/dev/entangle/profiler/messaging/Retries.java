package dev.entangle.profiler.messaging;

import dev.entangle.profiler.config.ProfilerConfig;
import io.micrometer.core.instrument.MeterRegistry;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;

/**
 * Transient failures (the object store or the broker unreachable: I/O errors) are retried with
 * exponential backoff, 1 s doubling to at most {@link #MAX_BACKOFF}, {@code entangle.profiler.retries}
 * times (16: about 3 minutes in all, so a unit rides out an outage of that length and resumes
 * within 15 s of its end); anything else — bad input — fails at once, for the dead-letter topic.
 */
final class Retries {

    private static final Logger LOG = Logger.getLogger(Retries.class);

    interface Attempt<T> {
        T run() throws Exception;
    }

    static final Duration MAX_BACKOFF = Duration.ofSeconds(15);

    private Retries() {}

    static <T> T withBackoff(String what, ProfilerConfig config, MeterRegistry registry, Attempt<T> attempt) throws Exception {
        Duration backoff = config.profiler().firstBackoff();
        for (int n = 0; ; n++) {
            try {
                return attempt.run();
            } catch (IOException | UncheckedIOException e) {
                if (n >= config.profiler().retries()) throw new IOException("gave up after " + (n + 1) + " attempts: " + e.getMessage(), e);
                registry.counter("entangle_profiler_retries_total").increment();
                LOG.infof("transient failure on %s (attempt %d): %s; retrying in %s", what, n + 1, e.getMessage(), backoff);
                Thread.sleep(backoff.toMillis());
                backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
            }
        }
    }
}
