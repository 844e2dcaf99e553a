package dev.entangle.security;

import io.grpc.Status;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * The per-call tenancy rule every service applies the same way: who is calling, and which runs
 * that caller may see or add to. With tenancy off ({@link Tenants#header()} unset) there is no
 * caller and every run is everyone's; on, the caller is the tenant the interceptor put in the
 * gRPC call's context (or the HTTP filter in the request's), and a run is the caller's only if
 * the caller owns it.
 */
@ApplicationScoped
public class TenantAccess {

    /** Read once: it is configuration. */
    private final boolean enabled = Tenants.header().isPresent();

    /** Whether tenancy is on. */
    public boolean enabled() {
        return enabled;
    }

    /**
     * The calling tenant when tenancy is on (the interceptor has refused calls without one), else
     * null. Read it in the call's context, before any hop to a worker thread.
     */
    public String caller() {
        if (!enabled) return null;
        return Tenants.current().orElseThrow(() -> Status.UNAUTHENTICATED.withDescription("no tenant on this call").asRuntimeException());
    }

    /**
     * The requesting tenant of an HTTP request under tenancy ({@link TenantHttpFilter} has refused
     * requests without one), else null.
     */
    public String caller(io.vertx.ext.web.RoutingContext request) {
        if (!enabled) return null;
        String tenant = request.get(Tenants.HTTP_CURRENT);
        if (tenant == null) throw Status.UNAUTHENTICATED.withDescription("no tenant on this request").asRuntimeException();
        return tenant;
    }

    /** Whether a run owned by {@code owner} (empty or null: nobody) is the caller's to read. */
    public static boolean owns(String caller, String owner) {
        return caller == null || caller.equals(owner);
    }
}
