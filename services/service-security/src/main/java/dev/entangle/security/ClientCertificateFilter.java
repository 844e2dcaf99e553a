package dev.entangle.security;

import io.quarkus.vertx.http.runtime.filters.Filters;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.eclipse.microprofile.config.ConfigProvider;

import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * Mutual TLS. The services' TLS comes from Quarkus' TLS registry (quarkus.tls.key-store.*,
 * quarkus.tls.trust-store.*, quarkus.http.ssl-port, quarkus.http.insecure-requests=disabled);
 * their builds ask clients for a certificate (quarkus.http.ssl.client-auth=request, fixed at
 * build time), so a certificate from an untrusted CA fails the handshake. With
 * {@code entangle.auth.client-certificate=required} (ENTANGLE_CLIENT_CERTIFICATE) a connection
 * without a client certificate is refused too, for gRPC and HTTP alike, except the health probes
 * (Kubernetes calls them without one).
 */
@ApplicationScoped
public class ClientCertificateFilter {

    private final boolean required = ConfigProvider.getConfig()
            .getOptionalValue("entangle.auth.client-certificate", String.class).map("required"::equalsIgnoreCase).orElse(false);

    void register(@Observes Filters filters) {
        if (!required) return;
        filters.register(rc -> {
            if (Unauthenticated.isHealthProbe(rc.normalizedPath()) || hasVerifiedCertificate(rc.request())) {
                rc.next();
            } else {
                rc.response().setStatusCode(401).end("a client certificate from the trusted CA is required");
            }
        }, 110);
    }

    private static boolean hasVerifiedCertificate(io.vertx.core.http.HttpServerRequest request) {
        if (!request.isSSL()) return false;
        try {
            return !request.connection().peerCertificates().isEmpty();
        } catch (SSLPeerUnverifiedException e) {
            return false;
        }
    }
}
