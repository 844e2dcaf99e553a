package dev.entangle.stack;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The parts of the local stack, each fact about one in one place: its process name (also its
 * log and pid file, and for a service its module folder under {@code services/}), its default
 * loopback port, the variable that tells a service its port, and its heap. Declared in start
 * order: the broker and the S3 server, then the services (theory first: query asks it).
 */
public enum Component {
    KAFKA("kafka", Kind.INFRASTRUCTURE, 19092, null, "512m"),
    S3("s3", Kind.INFRASTRUCTURE, 19000, null, "256m"),
    THEORY("theory", Kind.SERVICE, 8083, "ENTANGLE_THEORY_HTTP_PORT", "384m"),
    INGEST("checkpoint-ingest", Kind.SERVICE, 8081, "ENTANGLE_INGEST_HTTP_PORT", "512m"),
    PROFILER("profiler", Kind.SERVICE, 8082, "ENTANGLE_PROFILER_HTTP_PORT", "768m"),
    QUERY("query", Kind.SERVICE, 8084, "ENTANGLE_QUERY_HTTP_PORT", "384m");

    /** Infrastructure is ready when its port accepts; a service when /q/health/ready answers 200 (HTTP and gRPC share its port). */
    public enum Kind { INFRASTRUCTURE, SERVICE }

    private final String processName;
    private final Kind kind;
    private final int defaultPort;
    private final String portVariable;
    private final String heap;

    Component(String processName, Kind kind, int defaultPort, String portVariable, String heap) {
        this.processName = processName;
        this.kind = kind;
        this.defaultPort = defaultPort;
        this.portVariable = portVariable;
        this.heap = heap;
    }

    /** The process's name: its log {@code logs/NAME.log}, its pid file, and a service's module {@code services/NAME}. */
    public String processName() { return processName; }

    public Kind kind() { return kind; }

    public boolean isService() { return kind == Kind.SERVICE; }

    /** Where {@code ./entangle up} puts it (tests pick free ports instead). */
    public int defaultPort() { return defaultPort; }

    /** The environment variable a service reads its port from (application.properties); infrastructure has none. */
    public String portVariable() {
        if (portVariable == null) throw new IllegalStateException(processName + " is not a service: its port is on its command line");
        return portVariable;
    }

    /** Its -Xmx. */
    public String heap() { return heap; }

    /** The key of its port in the stack folder's ports.properties. */
    String portKey() { return name().toLowerCase(Locale.ROOT); }

    /** The services in start order. */
    public static final List<Component> SERVICES = Arrays.stream(values()).filter(Component::isService).toList();

    /** The broker and the S3 server. */
    public static final List<Component> INFRASTRUCTURE = Arrays.stream(values()).filter(c -> !c.isService()).toList();

    @Override
    public String toString() { return processName; }
}
