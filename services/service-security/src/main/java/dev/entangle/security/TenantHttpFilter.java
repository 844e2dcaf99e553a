package dev.entangle.security;

import io.quarkus.vertx.http.runtime.filters.Filters;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.util.Optional;

/**
 * Tenancy on HTTP (the query service's dashboard and its JSON endpoints): with a tenant header
 * configured ({@link Tenants}), a request that does not name a tenant is refused (401) and one
 * that names it badly too (400), by the rule the gRPC interceptor applies; the tenant is then
 * carried in the request's routing context for {@link TenantAccess#caller(io.vertx.ext.web.RoutingContext)}.
 * Exempt: the management endpoints under {@code /q/} (health probes and metrics hold no run of
 * anyone's, and Kubernetes and Prometheus call them without a tenant), and gRPC calls, which share
 * the port and meet {@link TenantServerInterceptor} instead.
 */
@ApplicationScoped
public class TenantHttpFilter {

    private final Optional<String> header = Tenants.header();

    void register(@Observes Filters filters) {
        if (header.isEmpty()) return;
        // after the client certificate (110) and the bearer token (100): an unauthenticated caller learns nothing of tenancy
        filters.register(rc -> {
            if (Unauthenticated.isManagement(rc.normalizedPath()) || Unauthenticated.isGrpc(rc.request())) {
                rc.next();
                return;
            }
            String tenant = rc.request().getHeader(header.get());
            Optional<Tenants.Refusal> refused = Tenants.refusal(tenant);
            if (refused.isPresent()) {
                rc.response().setStatusCode(refused.get() == Tenants.Refusal.MISSING ? 401 : 400)
                        .putHeader("content-type", "text/plain; charset=utf-8").end(Tenants.message(refused.get(), header.get()));
                return;
            }
            rc.put(Tenants.HTTP_CURRENT, tenant);
            rc.next();
        }, 90);
    }
}
