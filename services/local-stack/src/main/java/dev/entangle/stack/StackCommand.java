package dev.entangle.stack;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code ./entangle up | status | down}: the local stack (see {@link LocalStack}). */
@Command(name = "entangle-stack", mixinStandardHelpOptions = true,
        subcommands = {StackCommand.Up.class, StackCommand.Status.class, StackCommand.Down.class},
        description = "The local stack: a real Kafka broker (KRaft), an S3 server (S3Proxy) and the four services.")
public final class StackCommand {

    static class Common {
        @Option(names = "--home", description = "Stack folder (logs, data, pids). Default: .entangle/stack in the repository.")
        Path home;

        @Option(names = "--repo", hidden = true, defaultValue = "${sys:entangle.repo:-.}")
        Path repo;

        Path home() { return home != null ? home : repo.resolve(".entangle/stack"); }
    }

    @Command(name = "up", description = "Start Kafka, S3 and the services (what is not running yet); wait until all are ready.")
    static class Up extends Common implements Callable<Integer> {
        @Option(names = "--timeout", defaultValue = "180", description = "Seconds to wait for readiness (default ${DEFAULT-VALUE}).")
        int timeout;

        @Override
        public Integer call() throws Exception {
            LocalStack stack = LocalStack.recorded(repo, home(), System.out)
                    .orElseGet(() -> new LocalStack(repo, home(), Ports.defaults(), System.out));
            System.out.println("entangle: starting the local stack in " + stack.home());
            try {
                stack.up(Duration.ofSeconds(timeout));
            } catch (IllegalStateException e) {
                System.err.println("entangle up: " + e.getMessage());
                return 1;
            }
            print(stack);
            return 0;
        }
    }

    @Command(name = "status", description = "Show each component: ready, running (not ready) or stopped.")
    static class Status extends Common implements Callable<Integer> {
        @Override
        public Integer call() {
            var stack = LocalStack.recorded(repo, home(), System.out);
            if (stack.isEmpty()) {
                System.out.println("entangle: no local stack in " + home() + " (start one with ./entangle up)");
                return 3;
            }
            print(stack.get());
            return stack.get().status().values().stream().allMatch("ready"::equals) ? 0 : 3;
        }
    }

    @Command(name = "down", description = "Stop what up started (services first), nothing else.")
    static class Down extends Common implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            var stack = LocalStack.recorded(repo, home(), System.out);
            if (stack.isEmpty()) {
                System.out.println("entangle: no local stack in " + home());
                return 0;
            }
            var stopped = stack.get().down();
            System.out.println("entangle: stopped " + (stopped.isEmpty() ? "nothing (not running)" : String.join(", ", stopped)));
            return 0;
        }
    }

    static void print(LocalStack stack) {
        Map<Component, String> st = stack.status();
        for (var e : st.entrySet()) {
            String where = switch (e.getKey()) {
                case KAFKA -> stack.kafkaBootstrap() + " (Kafka, KRaft)";
                case S3 -> stack.s3Endpoint() + " (S3, bucket " + LocalStack.BUCKET + ")";
                case THEORY, INGEST, PROFILER, QUERY -> "127.0.0.1:" + stack.port(e.getKey()) + " (gRPC + HTTP, /q/health, /q/metrics)";
            };
            System.out.printf("  %-18s %-20s %s%n", e.getKey().processName(), e.getValue(), where);
        }
        System.out.println("  logs: " + stack.home().resolve("logs"));
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new StackCommand()).execute(args));
    }
}
