package dev.entangle.cli;

import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Optional;

/**
 * TLS for the CLI's gRPC channels, for services that serve TLS or demand client certificates
 * (mTLS: Quarkus' quarkus.tls.* with quarkus.http.ssl.client-auth=required). From the environment:
 * ENTANGLE_TLS_TRUSTSTORE (PKCS12 with the CA that signed the services' certificates) and, for
 * mTLS, ENTANGLE_TLS_KEYSTORE (PKCS12 with this client's key and certificate), each with a
 * _PASSWORD. No truststore: plaintext, as in the local stack.
 */
public final class ClientTls {

    private ClientTls() {}

    /** The credentials the environment asks for, if any. */
    static Optional<ChannelCredentials> fromEnvironment() {
        String trust = System.getenv("ENTANGLE_TLS_TRUSTSTORE");
        if (trust == null || trust.isBlank()) return Optional.empty();
        String key = System.getenv("ENTANGLE_TLS_KEYSTORE");
        return Optional.of(credentials(Path.of(trust), password("ENTANGLE_TLS_TRUSTSTORE_PASSWORD"),
                key == null || key.isBlank() ? null : Path.of(key), password("ENTANGLE_TLS_KEYSTORE_PASSWORD")));
    }

    /**
     * TLS trusting the CA certificates in {@code truststore}; presenting the key and certificate
     * in {@code keystore} when given (mutual TLS).
     */
    public static ChannelCredentials credentials(Path truststore, char[] trustPassword, Path keystore, char[] keyPassword) {
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(load(truststore, trustPassword));
            TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder().trustManager(tmf.getTrustManagers());
            if (keystore != null) {
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(load(keystore, keyPassword), keyPassword);
                b.keyManager(kmf.getKeyManagers());
            }
            return b.build();
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("TLS stores " + truststore + (keystore == null ? "" : ", " + keystore)
                    + " are not readable PKCS12 with the given passwords: " + e.getMessage(), e);
        }
    }

    private static KeyStore load(Path p12, char[] password) throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(p12)) {
            ks.load(in, password);
        }
        return ks;
    }

    private static char[] password(String variable) {
        String v = System.getenv(variable);
        return v == null ? new char[0] : v.toCharArray();
    }
}
