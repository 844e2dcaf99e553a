package dev.entangle.it.kit;

import dev.entangle.stack.Component;
import dev.entangle.stack.LocalStack;
import dev.entangle.stack.Ports;
import dev.entangle.stack.Supervisor;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * The integration tests' hold on the running stack, and their fault harness: stopping, killing
 * and restarting components (the broker and the S3 server keep their data across a restart),
 * and extra replicas of a service beside the stack's own. Built on local-stack's public pieces
 * ({@link LocalStack#start}, {@link LocalStack#startService}, {@link Supervisor}); the user's
 * {@code ./entangle up | status | down} never need any of this.
 */
public final class StackKit {

    private final LocalStack stack;

    public StackKit(LocalStack stack) {
        this.stack = stack;
    }

    public LocalStack stack() { return stack; }

    public String kafkaBootstrap() { return stack.kafkaBootstrap(); }

    public int port(Component c) { return stack.port(c); }

    public Optional<ProcessHandle> process(Component c) { return stack.processes().process(c.processName()); }

    public boolean running(Component c) { return stack.running(c); }

    public boolean ready(Component c) { return stack.ready(c); }

    /** Waits until the component is ready again; fails at once if its process exits. */
    public void awaitReady(Component c, long deadlineNanos) throws InterruptedException { stack.awaitReady(c, deadlineNanos); }

    /** SIGTERM, then SIGKILL after the grace period; false when it was not running. */
    public boolean stop(Component c, Duration grace) throws InterruptedException { return stack.processes().stop(c.processName(), grace); }

    /** SIGKILL at once, as a crash would. */
    public void kill(Component c) throws InterruptedException { stack.processes().kill(c.processName()); }

    /** Starts a stopped or killed service again on its port (not waiting: {@link #awaitReady}). */
    public void start(Component service) throws IOException, InterruptedException {
        if (!service.isService()) throw new IllegalArgumentException(service + " is infrastructure: startInfrastructure");
        stack.start(service);
    }

    /** Whether this stack runs its own broker and S3 server (false on Testcontainers: they cannot be restarted here). */
    public boolean ownsInfrastructure() { return stack.ownsInfrastructure(); }

    /** Starts the broker or the S3 server again after {@link #stop} (a restart keeps their data) and waits until its port accepts. */
    public void startInfrastructure(Component c, Duration timeout) throws IOException, InterruptedException {
        if (c.isService()) throw new IllegalArgumentException("not infrastructure: " + c);
        long deadline = System.nanoTime() + timeout.toNanos();
        stack.start(c);
        stack.awaitReady(c, deadline);
    }

    /**
     * Starts another instance of a service under its own name and a free port, with extra
     * environment over the stack's (e.g. ENTANGLE_AUTH_TOKEN and ENTANGLE_TENANT_HEADER: a
     * secured instance; or a second profiler sharing the task topic's partitions).
     */
    public Replica startReplica(Component service, String name, Map<String, String> extraEnv) throws IOException {
        Replica r = new Replica(stack.processes(), service, name, freePort());
        stack.startService(service, name, r.port(), extraEnv);
        return r;
    }

    /** A port the OS has just reported free (a replica's TLS port, say). */
    public static int freePort() { return Ports.freePort(); }
}
