package dev.entangle.it;

import org.awaitility.core.ConditionTimeoutException;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Predicate;

import static org.awaitility.Awaitility.await;

/**
 * The one way the stack tests wait: Awaitility, polling every 250 ms, failing with what was
 * awaited and the last value seen. A gRPC refusal or an I/O error while polling counts as "not
 * yet" (a service that is starting refuses calls); an assertion inside a poll fails at once.
 */
final class Waits {

    static final Duration POLL = Duration.ofMillis(250);

    private Waits() {}

    /** The first value of {@code value} that satisfies {@code done}; fails after {@code atMost}. */
    static <T> T until(String what, Duration atMost, Callable<T> value, Predicate<T> done) {
        return await(what).atMost(atMost).pollInterval(POLL).pollInSameThread().ignoreExceptionsMatching(Waits::notYet)
                .until(value, done::test);
    }

    /** Until {@code done} answers true; fails after {@code atMost}. */
    static void until(String what, Duration atMost, Callable<Boolean> done) {
        await(what).atMost(atMost).pollInterval(POLL).pollInSameThread().ignoreExceptionsMatching(Waits::notYet).until(done);
    }

    /** What a service that is not up yet answers. */
    private static boolean notYet(Throwable t) {
        return t instanceof io.grpc.StatusRuntimeException || t instanceof java.io.IOException
                || t instanceof java.io.UncheckedIOException;
    }

    /**
     * Polls {@code step} until it answers true or {@code window} has passed, without failing: for
     * reading a topic for a while, where having read everything early ends the window.
     */
    static void during(Duration window, Callable<Boolean> step) {
        try {
            await().atMost(window).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(1)).pollInSameThread().until(step);
        } catch (ConditionTimeoutException endOfWindow) {
            // the window is over: what was read is the answer
        }
    }
}
