package dev.entangle.security;

import dev.entangle.store.Layout;
import io.grpc.Context;
import org.eclipse.microprofile.config.ConfigProvider;

import java.util.Optional;

/**
 * Tenancy by a request header ({@code entangle.auth.tenant-header}, from ENTANGLE_TENANT_HEADER;
 * e.g. {@code x-entangle-tenant}). Unset: off, every caller sees every run. Set: each gRPC call
 * and each HTTP request (but the management endpoints under {@code /q/}) must name its tenant
 * in that header; the ingest service records it as the owner of a run, and the query service
 * (gRPC API and dashboard alike) answers only about runs the caller's tenant owns. The header is
 * trusted as sent: it is meant to be set by the gateway in front of the services, behind the
 * bearer token.
 */
public final class Tenants {

    /** The calling tenant, in the gRPC context of a call that passed {@link TenantServerInterceptor}. */
    static final Context.Key<String> CURRENT = Context.key("entangle-tenant");

    /** The calling tenant, in the routing context of an HTTP request that passed {@link TenantHttpFilter}. */
    static final String HTTP_CURRENT = "entangle-tenant";

    /** Why a request's tenant header is refused: none given, or not a valid name. */
    enum Refusal { MISSING, MALFORMED }

    /** The refusal of a tenant header's value, if it is refused (the same rule for gRPC and HTTP). */
    static Optional<Refusal> refusal(String tenant) {
        if (tenant == null || tenant.isBlank()) return Optional.of(Refusal.MISSING);
        if (!Layout.NAME.matcher(tenant).matches()) return Optional.of(Refusal.MALFORMED);
        return Optional.empty();
    }

    /** The one-line message of a refusal, naming the header and the rule broken. */
    static String message(Refusal refusal, String header) {
        return switch (refusal) {
            case MISSING -> "the tenant header '" + header + "' is required";
            case MALFORMED -> "tenant header '" + header + "': letters, digits, '.', '_', '-' (at most 128), starting with a letter or digit";
        };
    }

    private Tenants() {}

    /** The configured header name, if tenancy is on. */
    public static Optional<String> header() {
        return ConfigProvider.getConfig().getOptionalValue("entangle.auth.tenant-header", String.class)
                .map(String::strip).filter(h -> !h.isEmpty());
    }

    /** The tenant of the gRPC call on this thread's context; empty when tenancy is off. */
    public static Optional<String> current() {
        return Optional.ofNullable(CURRENT.get());
    }
}
