package dev.entangle.stack;

import dev.entangle.proto.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

/**
 * The embedded default stack on one machine, no Docker: a real Kafka broker (KRaft, combined
 * broker + controller, from its Maven Central jars), a real S3 server (S3Proxy over a folder)
 * and the four services (their Quarkus jars), each a separate process on loopback ports
 * ({@link Component}, {@link Ports}). Everything lives under one folder: the processes'
 * logs and pids ({@link Supervisor}), the broker's and the S3 server's data, and generated
 * credentials. {@code ./entangle up | status | down} are {@link #up}, {@link #status} and
 * {@link #down}; {@link #start}, {@link #startService} and {@link #awaitReady} are the pieces
 * the integration tests' kit builds replicas and restarts on.
 */
public final class LocalStack {

    public static final String BUCKET = "entangle";
    /** Partitions of each topic: how many profiler replicas can share one checkpoint. */
    public static final int PARTITIONS = 4;

    /** A Kafka broker and an S3 server this stack did not start (e.g. Testcontainers where Docker runs). */
    public record External(String kafkaBootstrap, String s3Endpoint, String accessKey, String secretKey) {}

    private final Path repo;
    private final Ports ports;
    private final Supervisor processes;
    private final External external;

    public LocalStack(Path repo, Path home, Ports ports, PrintStream log) {
        this(repo, home, ports, log, null);
    }

    /** The services only, on a broker and an S3 server that already run. */
    public LocalStack(Path repo, Path home, Ports ports, PrintStream log, External external) {
        this.repo = repo.toAbsolutePath().normalize();
        this.ports = ports;
        this.processes = new Supervisor(home, log);
        this.external = external;
    }

    /** The stack a previous {@code up} recorded in {@code home}, with its ports. */
    public static Optional<LocalStack> recorded(Path repo, Path home, PrintStream log) {
        Path f = home.resolve("ports.properties");
        if (!Files.exists(f)) return Optional.empty();
        Properties p = new Properties();
        try (var in = Files.newInputStream(f)) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Optional.of(new LocalStack(repo, home, Ports.of(p), log));
    }

    public Ports ports() { return ports; }

    public int port(Component c) { return ports.of(c); }

    public Path home() { return processes.home(); }

    /** This stack's processes (pid files, logs, stop and kill). */
    public Supervisor processes() { return processes; }

    public String kafkaBootstrap() { return external != null ? external.kafkaBootstrap() : "127.0.0.1:" + port(Component.KAFKA); }

    public String s3Endpoint() { return external != null ? external.s3Endpoint() : "http://127.0.0.1:" + port(Component.S3); }

    /** Whether this stack runs its own broker and S3 server (false on Testcontainers). */
    public boolean ownsInfrastructure() { return external == null; }

    public boolean running(Component c) { return processes.running(c.processName()); }

    // ---- the user's stack ---------------------------------------------------------------------

    /** Starts whatever is not running yet and waits until every component is ready. */
    public void up(Duration timeout) throws IOException, InterruptedException {
        Files.createDirectories(home());
        try (var out = Files.newOutputStream(home().resolve("ports.properties"))) {
            ports.toProperties().store(out, "entangle local stack ports");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        if (ownsInfrastructure()) {
            for (Component c : Component.INFRASTRUCTURE) if (!running(c)) start(c);
            for (Component c : Component.INFRASTRUCTURE) awaitReady(c, deadline);
        }
        createTopics(deadline);
        for (Component s : Component.SERVICES) if (!running(s)) start(s);
        for (Component s : Component.SERVICES) awaitReady(s, deadline);
    }

    /** Component → "ready" | "running (not ready)" | "stopped", in start order. */
    public Map<Component, String> status() {
        Map<Component, String> out = new LinkedHashMap<>();
        for (Component c : Component.values()) out.put(c, !running(c) ? "stopped" : ready(c) ? "ready" : "running (not ready)");
        return out;
    }

    /** Stops everything this stack started (every pid under run/ carrying its marker): services (and replicas) first, then the broker and the S3 server. */
    public List<String> down() throws InterruptedException {
        List<String> stopped = new ArrayList<>();
        List<String> infrastructure = Component.INFRASTRUCTURE.stream().map(Component::processName).toList();
        for (String s : processes.recorded()) if (!infrastructure.contains(s) && processes.stop(s, Duration.ofSeconds(20))) stopped.add(s);
        for (String s : infrastructure) if (processes.stop(s, Duration.ofSeconds(30))) stopped.add(s);
        return stopped;
    }

    // ---- components ---------------------------------------------------------------------------

    /** Starts one component on its port, under its own name (after a stop, it keeps its data). */
    public void start(Component c) throws IOException, InterruptedException {
        switch (c.kind()) {
            case SERVICE -> startService(c, c.processName(), port(c), Map.of());
            case INFRASTRUCTURE -> {
                if (!ownsInfrastructure()) throw new IllegalStateException("the broker and the S3 server are external here");
                if (c == Component.KAFKA) {
                    processes.start(c.processName(), KafkaBroker.command(processes, ports, PARTITIONS), Map.of());
                } else {
                    // S3Proxy over this stack's s3/ folder, with the stack's credentials in its environment
                    processes.start(c.processName(), processes.javaCommand(List.of("-Xmx" + c.heap()),
                            classPath(S3Server.class.getName(), "" + port(c), home().resolve("s3").toString())), credentialsEnv());
                }
            }
        }
    }

    /**
     * Starts an instance of a service under {@code name} on {@code port}, with the stack's
     * environment and {@code extraEnv} over it (e.g. a second profiler, or a secured ingest).
     */
    public void startService(Component service, String name, int port, Map<String, String> extraEnv) throws IOException {
        if (!service.isService()) throw new IllegalArgumentException(service + " is not a service");
        Path jar = repo.resolve("services/" + service.processName() + "/target/quarkus-app/quarkus-run.jar");
        if (!Files.exists(jar)) throw new IllegalStateException(jar + " is missing: build first (./entangle build)");
        List<String> jvm = List.of("-Xmx" + service.heap(), "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow");
        Map<String, String> env = serviceEnv();
        env.put(service.portVariable(), "" + port);
        env.putAll(extraEnv);
        processes.start(name, processes.javaCommand(jvm, List.of("-jar", jar.toString())), env);
    }

    /** Ready: the broker's or the S3 server's port accepts; a service's /q/health/ready answers 200. */
    public boolean ready(Component c) { return Probes.ready(c.kind(), port(c)); }

    /** Waits until the component is ready; fails at once if its process exits. */
    public void awaitReady(Component c, long deadlineNanos) throws InterruptedException {
        processes.await(c.processName(), () -> ready(c), deadlineNanos, c.isService() ? "not ready in time" : "did not open port " + port(c));
    }

    /** Environment every service reads (application.properties: ENTANGLE_*); credentials never on a command line. */
    public Map<String, String> serviceEnv() throws IOException {
        Map<String, String> env = new LinkedHashMap<>(credentialsEnv());
        env.put("ENTANGLE_KAFKA_BOOTSTRAP", kafkaBootstrap());
        env.put("ENTANGLE_S3_ENDPOINT", s3Endpoint());
        env.put("ENTANGLE_S3_BUCKET", BUCKET);
        for (Component s : Component.SERVICES) env.put(s.portVariable(), "" + port(s));
        env.put("ENTANGLE_THEORY_HOST", "127.0.0.1");
        env.put("ENTANGLE_THEORY_PORT", "" + port(Component.THEORY));
        return env;
    }

    /** S3 credentials generated once per stack folder (owner-only file). */
    public Map<String, String> credentialsEnv() throws IOException {
        if (external != null) return Map.of("ENTANGLE_S3_ACCESS_KEY", external.accessKey(), "ENTANGLE_S3_SECRET_KEY", external.secretKey());
        Path f = home().resolve("credentials.properties");
        Properties p = new Properties();
        if (Files.exists(f)) {
            try (var in = Files.newInputStream(f)) {
                p.load(in);
            }
        } else {
            Files.createDirectories(home());
            SecureRandom rnd = new SecureRandom();
            byte[] k = new byte[10];
            byte[] s = new byte[20];
            rnd.nextBytes(k);
            rnd.nextBytes(s);
            p.setProperty("access-key", "entangle" + HexFormat.of().formatHex(k));
            p.setProperty("secret-key", HexFormat.of().formatHex(s));
            Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (var out = Files.newOutputStream(f)) {
                p.store(out, "S3 credentials of this local stack");
            }
        }
        return Map.of("ENTANGLE_S3_ACCESS_KEY", p.getProperty("access-key"), "ENTANGLE_S3_SECRET_KEY", p.getProperty("secret-key"));
    }

    /** Every topic of {@link Topics#ALL}, {@link #PARTITIONS} partitions each. */
    private void createTopics(long deadline) throws InterruptedException {
        Properties p = new Properties();
        p.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafkaBootstrap());
        try (Admin admin = Admin.create(p)) {
            for (String t : Topics.ALL) {
                while (true) {
                    try {
                        admin.createTopics(List.of(new NewTopic(t, PARTITIONS, (short) 1))).all().get();
                        break;
                    } catch (ExecutionException e) {
                        if (e.getCause() instanceof TopicExistsException) break;
                        if (System.nanoTime() > deadline) throw new IllegalStateException("could not create topic " + t + ": " + e.getCause());
                        Thread.sleep(250);
                    }
                }
            }
        }
    }

    /** {@code -cp CLASSPATH MAIN ARGS} on this process's class path (the broker's and S3Proxy's jars are on it). */
    static List<String> classPath(String mainClass, String... args) {
        List<String> launch = new ArrayList<>(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        launch.addAll(List.of(args));
        return launch;
    }
}
