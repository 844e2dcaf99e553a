package dev.entangle.security;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import jakarta.enterprise.inject.spi.Prioritized;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.Optional;

/**
 * With a tenant header configured ({@link Tenants}), refuses gRPC calls that do not name a
 * tenant (UNAUTHENTICATED) or name it badly (INVALID_ARGUMENT), and carries the tenant in the
 * call's context for the service methods.
 */
@ApplicationScoped
@GlobalInterceptor
public class TenantServerInterceptor implements ServerInterceptor, Prioritized {

    /** Higher runs earlier: after the bearer token. */
    @Override
    public int getPriority() {
        return 10;
    }

    private final Optional<Metadata.Key<String>> header =
            Tenants.header().map(h -> Metadata.Key.of(h, Metadata.ASCII_STRING_MARSHALLER));

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (header.isEmpty() || Unauthenticated.isHealthProbe(call)) return next.startCall(call, headers);
        String tenant = headers.get(header.get());
        Optional<Tenants.Refusal> refused = Tenants.refusal(tenant);
        if (refused.isPresent()) {
            Status status = refused.get() == Tenants.Refusal.MISSING ? Status.UNAUTHENTICATED : Status.INVALID_ARGUMENT;
            return Unauthenticated.refuse(call, status.withDescription(Tenants.message(refused.get(), header.get().name())));
        }
        return Contexts.interceptCall(Context.current().withValue(Tenants.CURRENT, tenant), call, headers, next);
    }
}
