package dev.entangle.it;

import dev.entangle.it.kit.StackKit;
import dev.entangle.stack.Component;
import dev.entangle.stack.LocalStack;
import dev.entangle.stack.Ports;
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
 * stop checks that no process is left behind. Tests drive it through {@link StackKit}.
 */
public final class SharedStack implements BeforeAllCallback, AutoCloseable {

    private static StackKit stack;
    private static S3ObjectStore s3;
    /** Kafka and MinIO containers where Docker runs (stopped with the stack), else empty. */
    private static final List<org.testcontainers.containers.GenericContainer<?>> containers = new java.util.ArrayList<>();

    /** Docker answers: use Testcontainers for Kafka and S3 (set ENTANGLE_IT_DOCKER=false to force the embedded ones). */
    static boolean dockerAvailable() {
        if ("false".equalsIgnoreCase(System.getenv("ENTANGLE_IT_DOCKER"))) return false;
        // no socket and no DOCKER_HOST: no Docker, and no need to let Testcontainers search (it logs errors)
        if (System.getenv("DOCKER_HOST") == null && !java.nio.file.Files.exists(Path.of("/var/run/docker.sock"))
                && !java.nio.file.Files.exists(Path.of(System.getProperty("user.home"), ".docker/run/docker.sock"))) {
            return false;
        }
        try {
            return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    /** Kafka (apache/kafka, KRaft) and MinIO containers; the services still run as processes. */
    static LocalStack.External startContainers() {
        String key = "entangle" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        String secret = UUID.randomUUID().toString().replace("-", "");
        var kafka = new org.testcontainers.kafka.KafkaContainer("apache/kafka:4.1.1");
        var minio = new org.testcontainers.containers.MinIOContainer("minio/minio:RELEASE.2023-09-04T19-57-37Z")
                .withUserName(key).withPassword(secret);
        containers.add(kafka);
        containers.add(minio);
        kafka.start();
        minio.start();
        return new LocalStack.External(kafka.getBootstrapServers(), minio.getS3URL(), key, secret);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        synchronized (SharedStack.class) {
            if (stack != null) return;
            Path repo = Path.of(System.getProperty("entangle.repo", "..")).toAbsolutePath().normalize();
            Path home = repo.resolve("integration-tests/target/stack-" + UUID.randomUUID().toString().substring(0, 8));
            long t0 = System.nanoTime();
            LocalStack.External external = null;
            if (dockerAvailable()) {
                external = startContainers();
                System.out.println("Docker found: Kafka and MinIO in Testcontainers " + external.kafkaBootstrap() + " " + external.s3Endpoint());
            }
            LocalStack s = new LocalStack(repo, home, Ports.free(), new PrintStream(System.out, true), external);
            try {
                s.up(Duration.ofSeconds(240));
            } catch (Exception e) {
                s.down();
                containers.forEach(org.testcontainers.containers.GenericContainer::stop);
                throw e;
            }
            System.out.printf("stack up in %.1f s (%s)%n", (System.nanoTime() - t0) / 1e9, home);
            Map<String, String> env = s.credentialsEnv();
            s3 = new S3ObjectStore(new S3Config(s.s3Endpoint(), env.get("ENTANGLE_S3_ACCESS_KEY"), env.get("ENTANGLE_S3_SECRET_KEY"),
                    "us-east-1", LocalStack.BUCKET));
            stack = new StackKit(s);
            context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL).put(SharedStack.class.getName(), this);
        }
    }

    @Override
    public void close() {
        synchronized (SharedStack.class) {
            if (stack == null) return;
            List<String> stopped;
            try {
                stopped = stack.stack().down();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while stopping the stack", e);
            }
            System.out.println("stack down: stopped " + stopped);
            for (String c : stopped) {
                if (stack.stack().processes().running(c)) throw new IllegalStateException(c + " still running after down");
            }
            containers.forEach(org.testcontainers.containers.GenericContainer::stop);
            containers.clear();
            stack = null;
        }
    }

    public static StackKit stack() { return stack; }

    public static S3ObjectStore s3() { return s3; }

    public static ManagedChannel channel(Component service) {
        return ManagedChannelBuilder.forAddress("127.0.0.1", stack.port(service)).usePlaintext().maxInboundMessageSize(64 << 20).build();
    }
}
