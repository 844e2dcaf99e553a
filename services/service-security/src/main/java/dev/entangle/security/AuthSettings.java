package dev.entangle.security;

import java.util.Optional;

/**
 * The {@code entangle.auth.*} keys, for services whose configuration root is "entangle" (a root
 * mapping refuses keys it does not declare at start-up). The checks read them through
 * {@link BearerToken}, {@link Tenants} and {@link ClientCertificateFilter}.
 */
public interface AuthSettings {

    /** ENTANGLE_AUTH_TOKEN: the bearer token; empty: off. */
    Optional<String> token();

    /** ENTANGLE_TENANT_HEADER: tenancy's header; empty: off. */
    Optional<String> tenantHeader();

    /** ENTANGLE_CLIENT_CERTIFICATE: "required" for mutual TLS; empty: off. */
    Optional<String> clientCertificate();
}
