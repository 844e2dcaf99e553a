package dev.entangle.security;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;

/** What the services' access checks share: which calls need no credentials, and how a gRPC call is refused. */
final class Unauthenticated {

    private Unauthenticated() {}

    /** The HTTP health probes: Kubernetes calls them without credentials. */
    static boolean isHealthProbe(String path) {
        return path.startsWith("/q/health");
    }

    /** Quarkus' management endpoints (health, metrics): operational, no run data. */
    static boolean isManagement(String path) {
        return path.startsWith("/q/");
    }

    /** A gRPC call on the shared HTTP port (its own interceptors check it). */
    static boolean isGrpc(io.vertx.core.http.HttpServerRequest request) {
        String type = request.getHeader("content-type");
        return type != null && type.startsWith("application/grpc");
    }

    /** The standard gRPC health service: its probes carry no tenant. */
    static boolean isHealthProbe(ServerCall<?, ?> call) {
        return call.getMethodDescriptor().getFullMethodName().startsWith("grpc.health.v1.");
    }

    /** Ends the call with {@code status} before it reaches the service. */
    static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
        call.close(status, new Metadata());
        return new ServerCall.Listener<>() {};
    }
}
