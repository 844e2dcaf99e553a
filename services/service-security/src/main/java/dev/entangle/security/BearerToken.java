package dev.entangle.security;

import io.grpc.Metadata;
import org.eclipse.microprofile.config.ConfigProvider;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * The shared bearer token ({@code entangle.auth.token}, from ENTANGLE_AUTH_TOKEN / a Secret).
 * Unset or empty: authentication is off, as in the local demo stack; set: every gRPC call and
 * every HTTP request except the health probes must carry {@code authorization: Bearer <token>}.
 */
public final class BearerToken {

    public static final String HEADER = "authorization";
    public static final String PREFIX = "Bearer ";
    /** {@link #HEADER} as gRPC metadata. */
    static final Metadata.Key<String> GRPC_HEADER = Metadata.Key.of(HEADER, Metadata.ASCII_STRING_MARSHALLER);

    private BearerToken() {}

    /** The configured token, if authentication is on. */
    public static Optional<String> configured() {
        return ConfigProvider.getConfig().getOptionalValue("entangle.auth.token", String.class).filter(t -> !t.isBlank());
    }

    /** Whether an authorization header value carries the token (constant-time comparison). */
    public static boolean accepts(String expected, String header) {
        if (header == null || !header.startsWith(PREFIX)) return false;
        return MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
                header.substring(PREFIX.length()).trim().getBytes(StandardCharsets.UTF_8));
    }
}
