package dev.entangle.security;

import io.quarkus.vertx.http.runtime.filters.Filters;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.util.Optional;

/**
 * HTTP side: with a token configured, every request but the health probes ({@code /q/health},
 * which Kubernetes calls without credentials) needs the bearer token — metrics included.
 */
@ApplicationScoped
public class BearerTokenHttpFilter {

    private final Optional<String> token = BearerToken.configured();

    void register(@Observes Filters filters) {
        if (token.isEmpty()) return;
        filters.register(rc -> {
            if (Unauthenticated.isHealthProbe(rc.normalizedPath()) || BearerToken.accepts(token.get(), rc.request().getHeader(BearerToken.HEADER))) {
                rc.next();
            } else {
                rc.response().setStatusCode(401).putHeader("WWW-Authenticate", "Bearer").end();
            }
        }, 100);
    }
}
