package dev.entangle.it;

import dev.entangle.stack.LocalStack;
import dev.entangle.store.S3Config;
import dev.entangle.store.S3ObjectStore;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The real stack (Kafka KRaft broker, S3Proxy, the four services as processes), started once
 * per test run for every class that uses this extension and stopped when the run ends; the
 * stop checks that no process is left behind.
 */
public final class SharedStack implements BeforeAllCallback, AutoCloseable {

    private static LocalStack stack;
    private static S3ObjectStore s3;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        synchronized (SharedStack.class) {
            if (stack != null) return;
            Path repo = Path.of(System.getProperty("entangle.repo", "..")).toAbsolutePath().normalize();
            Path home = repo.resolve("integration-tests/target/stack-" + UUID.randomUUID().toString().substring(0, 8));
            LocalStack s = new LocalStack(repo, home, LocalStack.Ports.free(), new PrintStream(System.out, true));
            long t0 = System.nanoTime();
            try {
                s.up(Duration.ofSeconds(240));
            } catch (Exception e) {
                s.down();
                throw e;
            }
            System.out.printf("stack up in %.1f s (%s)%n", (System.nanoTime() - t0) / 1e9, home);
            Map<String, String> env = s.credentialsEnv();
            s3 = new S3ObjectStore(new S3Config(s.s3Endpoint(), env.get("ENTANGLE_S3_ACCESS_KEY"), env.get("ENTANGLE_S3_SECRET_KEY"),
                    "us-east-1", LocalStack.BUCKET));
            stack = s;
            context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL).put(SharedStack.class.getName(), this);
        }
    }

    @Override
    public void close() {
        synchronized (SharedStack.class) {
            if (stack == null) return;
            List<String> stopped;
            try {
                stopped = stack.down();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while stopping the stack", e);
            }
            System.out.println("stack down: stopped " + stopped);
            for (String c : stopped) {
                if (stack.running(c)) throw new IllegalStateException(c + " still running after down");
            }
            stack = null;
        }
    }

    public static LocalStack stack() { return stack; }

    public static S3ObjectStore s3() { return s3; }

    public static ManagedChannel channel(String service) {
        return ManagedChannelBuilder.forAddress("127.0.0.1", stack.port(service)).usePlaintext().maxInboundMessageSize(64 << 20).build();
    }
}
