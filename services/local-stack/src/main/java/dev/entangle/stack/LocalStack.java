package dev.entangle.stack;

import dev.entangle.proto.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
 * and the four services (their Quarkus jars), each a separate process on loopback ports.
 * Everything lives under one folder: {@code logs/NAME.log}, {@code run/NAME.pid}, the broker's
 * and the S3 server's data, and generated credentials. {@code down} stops only processes whose
 * command line carries this folder's marker.
 */
public final class LocalStack {

    /** Loopback ports of every component. */
    public record Ports(int kafka, int controller, int s3, int ingest, int profiler, int theory, int query) {
        public static Ports defaults() { return new Ports(19092, 19093, 19000, 8081, 8082, 8083, 8084); }

        /** Free ports picked by the OS (tests, several stacks on one machine). */
        public static Ports free() {
            return new Ports(freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort());
        }

        Properties toProperties() {
            Properties p = new Properties();
            p.setProperty("kafka", "" + kafka);
            p.setProperty("controller", "" + controller);
            p.setProperty("s3", "" + s3);
            p.setProperty("ingest", "" + ingest);
            p.setProperty("profiler", "" + profiler);
            p.setProperty("theory", "" + theory);
            p.setProperty("query", "" + query);
            return p;
        }

        static Ports of(Properties p) {
            return new Ports(i(p, "kafka"), i(p, "controller"), i(p, "s3"), i(p, "ingest"), i(p, "profiler"), i(p, "theory"), i(p, "query"));
        }

        private static int i(Properties p, String k) { return Integer.parseInt(p.getProperty(k)); }
    }

    /** The services in start order, with the port each listens on (HTTP and gRPC share it). */
    public static final List<String> SERVICES = List.of("theory", "checkpoint-ingest", "profiler", "query");
    public static final String KAFKA = "kafka";
    public static final String S3 = "s3";
    public static final String BUCKET = "entangle";
    /** Partitions of the task topic: how many profiler replicas can share one checkpoint. */
    public static final int PARTITIONS = 4;

    /** A Kafka broker and an S3 server this stack did not start (e.g. Testcontainers where Docker runs). */
    public record External(String kafkaBootstrap, String s3Endpoint, String accessKey, String secretKey) {}

    private final Path repo;
    private final Path home;
    private final Ports ports;
    private final PrintStream log;
    private final External external;

    public LocalStack(Path repo, Path home, Ports ports, PrintStream log) {
        this(repo, home, ports, log, null);
    }

    /** The services only, on a broker and an S3 server that already run. */
    public LocalStack(Path repo, Path home, Ports ports, PrintStream log, External external) {
        this.repo = repo.toAbsolutePath().normalize();
        this.home = home.toAbsolutePath().normalize();
        this.ports = ports;
        this.log = log;
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

    public Path home() { return home; }

    public String kafkaBootstrap() { return external != null ? external.kafkaBootstrap() : "127.0.0.1:" + ports.kafka(); }

    public String s3Endpoint() { return external != null ? external.s3Endpoint() : "http://127.0.0.1:" + ports.s3(); }

    public int port(String service) {
        return switch (service) {
            case "checkpoint-ingest" -> ports.ingest();
            case "profiler" -> ports.profiler();
            case "theory" -> ports.theory();
            case "query" -> ports.query();
            case KAFKA -> ports.kafka();
            case S3 -> ports.s3();
            default -> extraPorts.containsKey(service) ? extraPorts.get(service) : throwUnknown(service);
        };
    }

    private static int throwUnknown(String service) {
        throw new IllegalArgumentException("no component " + service);
    }

    // ---- up -----------------------------------------------------------------------------------

    /** Starts whatever is not running yet and waits until every component is ready. */
    public void up(Duration timeout) throws IOException, InterruptedException {
        Files.createDirectories(home.resolve("logs"));
        Files.createDirectories(home.resolve("run"));
        try (var out = Files.newOutputStream(home.resolve("ports.properties"))) {
            ports.toProperties().store(out, "entangle local stack ports");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        if (external == null) {
            if (!running(KAFKA)) startKafka();
            if (!running(S3)) startS3();
            waitForPort(KAFKA, ports.kafka(), deadline);
            waitForPort(S3, ports.s3(), deadline);
        }
        createTopics(deadline);
        for (String s : SERVICES) if (!running(s)) startService(s);
        for (String s : SERVICES) waitReady(s, deadline);
    }

    /** Starts the broker or the S3 server again after {@link #stop} (fault tests: a restart keeps their data). */
    public void startInfrastructure(String name, Duration timeout) throws IOException, InterruptedException {
        if (external != null) throw new IllegalStateException("the broker and the S3 server are external here");
        long deadline = System.nanoTime() + timeout.toNanos();
        switch (name) {
            case KAFKA -> {
                startKafka();
                waitForPort(KAFKA, ports.kafka(), deadline);
            }
            case S3 -> {
                startS3();
                waitForPort(S3, ports.s3(), deadline);
            }
            default -> throw new IllegalArgumentException("not infrastructure: " + name);
        }
    }

    /** Whether this stack runs its own broker and S3 server (false on Testcontainers). */
    public boolean ownsInfrastructure() { return external == null; }

    /** Starts one service (after {@link #stop} of it, e.g. to test a restart). */
    public void startService(String service) throws IOException {
        startService(service, service, port(service));
    }

    /**
     * Starts another replica of a service under its own name and port (e.g. a second profiler
     * sharing the task topic's partitions); {@link #stop}/{@link #kill} take that name.
     */
    public void startReplica(String service, String name, int port) throws IOException {
        startReplica(service, name, port, Map.of());
    }

    /** A replica with extra environment (e.g. ENTANGLE_AUTH_TOKEN, ENTANGLE_TENANT_HEADER: a secured instance). */
    public void startReplica(String service, String name, int port, Map<String, String> extraEnv) throws IOException {
        extraPorts.put(name, port);
        startService(service, name, port, extraEnv);
    }

    private final Map<String, Integer> extraPorts = new java.util.concurrent.ConcurrentHashMap<>();

    private void startService(String service, String name, int port) throws IOException {
        startService(service, name, port, Map.of());
    }

    private void startService(String service, String name, int port, Map<String, String> extraEnv) throws IOException {
        Path jar = repo.resolve("services/" + service + "/target/quarkus-app/quarkus-run.jar");
        if (!Files.exists(jar)) throw new IllegalStateException(jar + " is missing: build first (./entangle build)");
        List<String> jvm = new ArrayList<>(List.of("-Xmx" + heap(service), "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", marker()));
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary());
        cmd.addAll(jvm);
        cmd.add("-jar");
        cmd.add(jar.toString());
        Map<String, String> env = serviceEnv();
        env.put(portVariable(service), "" + port);
        env.putAll(extraEnv);
        start(name, cmd, env);
    }

    private static String portVariable(String service) {
        return switch (service) {
            case "checkpoint-ingest" -> "ENTANGLE_INGEST_HTTP_PORT";
            case "profiler" -> "ENTANGLE_PROFILER_HTTP_PORT";
            case "theory" -> "ENTANGLE_THEORY_HTTP_PORT";
            case "query" -> "ENTANGLE_QUERY_HTTP_PORT";
            default -> throw new IllegalArgumentException("no service " + service);
        };
    }

    private static String heap(String service) {
        return switch (service) {
            case "profiler" -> "768m";
            case "checkpoint-ingest" -> "512m";
            default -> "384m";
        };
    }

    /** Environment every service reads (application.properties: ENTANGLE_*); credentials never on a command line. */
    public Map<String, String> serviceEnv() throws IOException {
        Map<String, String> env = new LinkedHashMap<>(credentialsEnv());
        env.put("ENTANGLE_KAFKA_BOOTSTRAP", kafkaBootstrap());
        env.put("ENTANGLE_S3_ENDPOINT", s3Endpoint());
        env.put("ENTANGLE_S3_BUCKET", BUCKET);
        env.put("ENTANGLE_INGEST_HTTP_PORT", "" + ports.ingest());
        env.put("ENTANGLE_PROFILER_HTTP_PORT", "" + ports.profiler());
        env.put("ENTANGLE_THEORY_HTTP_PORT", "" + ports.theory());
        env.put("ENTANGLE_QUERY_HTTP_PORT", "" + ports.query());
        env.put("ENTANGLE_THEORY_HOST", "127.0.0.1");
        env.put("ENTANGLE_THEORY_PORT", "" + ports.theory());
        // checkpoints written under s3://entangle/training/ are taken from events (FFT and DoRA against the demo's base);
        // a folder still lacking files 10 s after its marker is dead-lettered (deployments wait minutes)
        env.put("ENTANGLE_INGEST_WATCH_SOURCES", BUCKET + "/training/;base=tiny-llama");
        env.put("ENTANGLE_INGEST_WATCH_GIVE_UP_AFTER", "PT10S");
        return env;
    }

    /** S3 credentials generated once per stack folder (owner-only file). */
    public Map<String, String> credentialsEnv() throws IOException {
        if (external != null) return Map.of("ENTANGLE_S3_ACCESS_KEY", external.accessKey(), "ENTANGLE_S3_SECRET_KEY", external.secretKey());
        Path f = home.resolve("credentials.properties");
        Properties p = new Properties();
        if (Files.exists(f)) {
            try (var in = Files.newInputStream(f)) {
                p.load(in);
            }
        } else {
            Files.createDirectories(home);
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

    /** S3Proxy over this stack's s3/ folder, with the stack's credentials in its environment. */
    private void startS3() throws IOException {
        start(S3, javaCommand(List.of("-Xmx256m"), "dev.entangle.stack.S3Server", "" + ports.s3(), home.resolve("s3").toString()), credentialsEnv());
    }

    private void startKafka() throws IOException, InterruptedException {
        Path dir = home.resolve("kafka");
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        Path config = dir.resolve("server.properties");
        Properties p = new Properties();
        p.setProperty("process.roles", "broker,controller");
        p.setProperty("node.id", "1");
        p.setProperty("controller.quorum.bootstrap.servers", "127.0.0.1:" + ports.controller());
        p.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + ports.kafka() + ",CONTROLLER://127.0.0.1:" + ports.controller());
        p.setProperty("advertised.listeners", "PLAINTEXT://127.0.0.1:" + ports.kafka());
        p.setProperty("controller.listener.names", "CONTROLLER");
        p.setProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.setProperty("log.dirs", data.toString());
        p.setProperty("num.partitions", "" + PARTITIONS);
        p.setProperty("offsets.topic.replication.factor", "1");
        p.setProperty("offsets.topic.num.partitions", "4");
        p.setProperty("transaction.state.log.replication.factor", "1");
        p.setProperty("transaction.state.log.min.isr", "1");
        p.setProperty("share.coordinator.state.topic.replication.factor", "1");
        p.setProperty("share.coordinator.state.topic.min.isr", "1");
        p.setProperty("group.initial.rebalance.delay.ms", "0");
        try (var out = Files.newOutputStream(config)) {
            p.store(out, "entangle local Kafka broker (KRaft, single node)");
        }
        if (!Files.exists(data.resolve("meta.properties"))) {
            List<String> format = javaCommand(List.of("-Xmx256m"), "kafka.tools.StorageTool", "format", "--standalone",
                    "-t", Uuid.randomUuid().toString(), "-c", config.toString());
            Process fmt = new ProcessBuilder(format).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(home.resolve("logs/kafka-format.log").toFile())).start();
            if (fmt.waitFor() != 0) throw new IllegalStateException("formatting the Kafka log folder failed: see " + home.resolve("logs/kafka-format.log"));
        }
        start(KAFKA, javaCommand(List.of("-Xmx512m", "-Xms128m"), "kafka.Kafka", config.toString()), Map.of());
    }

    private void createTopics(long deadline) throws InterruptedException {
        Properties p = new Properties();
        p.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafkaBootstrap());
        try (Admin admin = Admin.create(p)) {
            for (String t : List.of(Topics.CHECKPOINTS_INGESTED, Topics.PROFILE_TASKS, Topics.PROFILES_COMPUTED, Topics.PROFILE_TASKS_DLQ,
                    Topics.OBJECT_STORE_EVENTS, Topics.CHECKPOINTS_SAVED, Topics.INGEST_EVENTS_DLQ)) {
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

    // ---- processes ----------------------------------------------------------------------------

    private List<String> javaCommand(List<String> jvm, String mainClass, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary());
        cmd.addAll(jvm);
        cmd.add(marker());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Tags every process of this stack so that {@code down} never stops anything else. */
    private String marker() {
        return "-DentangleStackHome=" + home;
    }

    private void start(String name, List<String> command, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(home.resolve("logs/" + name + ".log").toFile()));
        pb.environment().putAll(env);
        pb.directory(home.toFile());
        Process p = pb.start();
        Files.writeString(home.resolve("run/" + name + ".pid"), Long.toString(p.pid()));
        log.println("  started " + name + " (pid " + p.pid() + ", log " + home.resolve("logs/" + name + ".log") + ")");
    }

    /** The live process of a component started by this stack, if any. */
    public Optional<ProcessHandle> process(String name) {
        Path f = home.resolve("run/" + name + ".pid");
        if (!Files.exists(f)) return Optional.empty();
        try {
            long pid = Long.parseLong(Files.readString(f).trim());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .filter(h -> h.info().commandLine().map(c -> c.contains(marker())).orElse(false));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    public boolean running(String name) { return process(name).isPresent(); }

    /** Stops one component: SIGTERM, then SIGKILL after the grace period. */
    public boolean stop(String name, Duration grace) throws InterruptedException {
        Optional<ProcessHandle> h = process(name);
        if (h.isEmpty()) return false;
        h.get().destroy();
        long deadline = System.nanoTime() + grace.toNanos();
        while (h.get().isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        if (h.get().isAlive()) h.get().destroyForcibly();
        while (h.get().isAlive()) Thread.sleep(20);
        try {
            Files.deleteIfExists(home.resolve("run/" + name + ".pid"));
        } catch (IOException ignored) {
            // the pid file is advisory; a stale one is filtered by the marker check
        }
        return true;
    }

    /** Kills one component at once (SIGKILL), as a crash would. */
    public void kill(String name) throws InterruptedException {
        Optional<ProcessHandle> h = process(name);
        if (h.isEmpty()) return;
        h.get().destroyForcibly();
        while (h.get().isAlive()) Thread.sleep(20);
    }

    /** Stops everything this stack started (every pid under run/ carrying its marker): services first, then the broker and the S3 server. */
    public List<String> down() throws InterruptedException {
        List<String> stopped = new ArrayList<>();
        List<String> recorded = new ArrayList<>();
        try (var files = Files.list(home.resolve("run"))) {
            files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".pid"))
                    .map(n -> n.substring(0, n.length() - 4)).forEach(recorded::add);
        } catch (IOException e) {
            // no run folder: nothing was started
        }
        // services (and any replicas) first, then the broker and the S3 server they use
        for (String s : recorded) if (!s.equals(KAFKA) && !s.equals(S3) && stop(s, Duration.ofSeconds(20))) stopped.add(s);
        for (String s : List.of(KAFKA, S3)) if (stop(s, Duration.ofSeconds(30))) stopped.add(s);
        return stopped;
    }

    /** Name → "ready" | "running (not ready)" | "stopped". */
    public Map<String, String> status() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String c : List.of(KAFKA, S3)) {
            out.put(c, !running(c) ? "stopped" : portOpen(port(c)) ? "ready" : "running (not ready)");
        }
        for (String s : SERVICES) {
            out.put(s, !running(s) ? "stopped" : ready(s) ? "ready" : "running (not ready)");
        }
        return out;
    }

    private void waitForPort(String name, int port, long deadline) throws InterruptedException {
        while (!portOpen(port)) {
            if (!running(name)) throw new IllegalStateException(name + " exited while starting: see " + home.resolve("logs/" + name + ".log"));
            if (System.nanoTime() > deadline) throw new IllegalStateException(name + " did not open port " + port + ": see " + home.resolve("logs/" + name + ".log"));
            Thread.sleep(100);
        }
    }

    public void waitReady(String service, long deadlineNanos) throws InterruptedException {
        while (!ready(service)) {
            if (!running(service)) throw new IllegalStateException(service + " exited while starting: see " + home.resolve("logs/" + service + ".log"));
            if (System.nanoTime() > deadlineNanos) throw new IllegalStateException(service + " not ready in time: see " + home.resolve("logs/" + service + ".log"));
            Thread.sleep(200);
        }
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /** /q/health/ready answers 200. */
    public boolean ready(String service) {
        try {
            HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port(service) + "/q/health/ready"))
                    .timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.discarding());
            return r.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static boolean portOpen(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
