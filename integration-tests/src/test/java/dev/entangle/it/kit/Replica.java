package dev.entangle.it.kit;

import dev.entangle.stack.Component;
import dev.entangle.stack.Probes;
import dev.entangle.stack.Supervisor;

import java.time.Duration;

/** An extra instance of a service started by {@link StackKit#startReplica}: its own name (log, pid file) and port. */
public record Replica(Supervisor processes, Component service, String name, int port) {

    public boolean running() { return processes.running(name); }

    /** Its /q/health/ready answers 200 on its plain HTTP port. */
    public boolean ready() { return Probes.healthReady(port); }

    public void awaitReady(long deadlineNanos) throws InterruptedException {
        processes.await(name, this::ready, deadlineNanos, "not ready in time");
    }

    public boolean stop(Duration grace) throws InterruptedException { return processes.stop(name, grace); }

    public void kill() throws InterruptedException { processes.kill(name); }
}
