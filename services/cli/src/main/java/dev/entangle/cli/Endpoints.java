package dev.entangle.cli;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;

/**
 * Where the services listen (the local stack's defaults, overridable by flags or environment).
 * Each service answers gRPC and HTTP (health, metrics) on one port. Public for the benches.
 */
public final class Endpoints {

    public static final String INGEST = env("ENTANGLE_INGEST", "localhost:8081");
    public static final String QUERY = env("ENTANGLE_QUERY", "localhost:8084");
    public static final String PROFILER = env("ENTANGLE_PROFILER", "localhost:8082");

    private Endpoints() {}

    /** {@code --query HOST:PORT}, for every command that asks the query service. */
    public static final class QueryOption {
        @picocli.CommandLine.Option(names = "--query", paramLabel = "HOST:PORT", description = "Query service (default: $ENTANGLE_QUERY or localhost:8084).")
        public String endpoint = QUERY;
    }

    /** {@code --ingest HOST:PORT}, for every command that uploads. */
    public static final class IngestOption {
        @picocli.CommandLine.Option(names = "--ingest", paramLabel = "HOST:PORT", description = "Ingest service (default: $ENTANGLE_INGEST or localhost:8081).")
        public String endpoint = INGEST;
    }

    public static ManagedChannel channel(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0) throw new IllegalArgumentException("endpoint '" + hostPort + "' is not HOST:PORT");
        String host = hostPort.substring(0, colon);
        int port = Integer.parseInt(hostPort.substring(colon + 1));
        var tls = ClientTls.fromEnvironment();
        ManagedChannelBuilder<?> b = (tls.isPresent() ? io.grpc.Grpc.newChannelBuilderForAddress(host, port, tls.get())
                : ManagedChannelBuilder.forAddress(host, port).usePlaintext()).maxInboundMessageSize(64 << 20);
        io.grpc.Metadata headers = new io.grpc.Metadata();
        String token = System.getenv("ENTANGLE_AUTH_TOKEN");
        if (token != null && !token.isBlank()) {
            // services configured with a token refuse calls without it
            headers.put(io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        }
        String tenant = System.getenv("ENTANGLE_TENANT");
        if (tenant != null && !tenant.isBlank()) {
            // services with tenancy on (a tenant header configured) need it on every call
            headers.put(io.grpc.Metadata.Key.of(env("ENTANGLE_TENANT_HEADER", "x-entangle-tenant"), io.grpc.Metadata.ASCII_STRING_MARSHALLER), tenant);
        }
        if (!headers.keys().isEmpty()) b.intercept(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(headers));
        return b.build();
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }
}
