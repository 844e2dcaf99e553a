package dev.entangle.security;

import io.grpc.Context;
import org.eclipse.microprofile.config.ConfigProvider;

import java.util.Optional;

/**
 * Tenancy by a request header ({@code entangle.auth.tenant-header}, from ENTANGLE_TENANT_HEADER;
 * e.g. {@code x-entangle-tenant}). Unset: off, every caller sees every run. Set: each gRPC call
 * must name its tenant in that header; the ingest service records it as the owner of a run, and
 * the query service answers only about runs the caller's tenant owns. The header is trusted as
 * sent: it is meant to be set by the gateway in front of the services, behind the bearer token.
 */
public final class Tenants {

    /** The calling tenant, in the gRPC context of a call that passed {@link TenantServerInterceptor}. */
    static final Context.Key<String> CURRENT = Context.key("entangle-tenant");

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
