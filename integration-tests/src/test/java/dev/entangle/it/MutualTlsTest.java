package dev.entangle.it;

import dev.entangle.cli.ClientTls;
import dev.entangle.cli.Uploader;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.proto.ingest.v1.CheckpointIngestGrpc;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.RegisterRequest;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.stack.LocalStack;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mutual TLS on an ingest replica beside the open stack, configured by environment only (Quarkus'
 * TLS registry, plain HTTP off, ENTANGLE_CLIENT_CERTIFICATE=required): a client with a
 * certificate from the trusted CA uploads; one without a certificate or with another CA's is
 * refused, a plaintext one cannot connect; the health probes stay open.
 */
@ExtendWith(SharedStack.class)
class MutualTlsTest {

    static final char[] PASSWORD = "changeit".toCharArray();

    @TempDir
    Path pki;

    @Test
    void onlyClientsWithATrustedCertificateGetThrough() throws Exception {
        Path ca = pki.resolve("ca.p12"), otherCa = pki.resolve("other-ca.p12");
        keytool("-genkeypair", "-alias", "ca", "-dname", "CN=entangle-test-ca", "-ext", "bc:c", "-keyalg", "EC", "-validity", "2", "-keystore", ca.toString());
        keytool("-genkeypair", "-alias", "ca", "-dname", "CN=someone-else", "-ext", "bc:c", "-keyalg", "EC", "-validity", "2", "-keystore", otherCa.toString());
        Path trust = pki.resolve("trust.p12");
        Path caCert = export(ca, "ca");
        keytool("-importcert", "-noprompt", "-alias", "ca", "-file", caCert.toString(), "-keystore", trust.toString());
        Path server = signed(ca, caCert, "server", "CN=localhost", "SAN=ip:127.0.0.1,dns:localhost", "EKU=serverAuth");
        Path client = signed(ca, caCert, "client", "CN=trainer", null, "EKU=clientAuth");
        Path stranger = signed(otherCa, export(otherCa, "ca"), "stranger", "CN=stranger", null, "EKU=clientAuth");

        LocalStack stack = SharedStack.stack();
        LocalStack.Ports free = LocalStack.Ports.free();
        int tlsPort = free.query();   // another of the free ports: the replica serves TLS there, nothing on plain HTTP
        stack.startReplica("checkpoint-ingest", "ingest-mtls", free.ingest(), Map.ofEntries(
                Map.entry("QUARKUS_TLS_KEY_STORE_P12_PATH", server.toString()),
                Map.entry("QUARKUS_TLS_KEY_STORE_P12_PASSWORD", new String(PASSWORD)),
                Map.entry("QUARKUS_TLS_KEY_STORE_P12_ALIAS", "server"),
                Map.entry("QUARKUS_TLS_KEY_STORE_P12_ALIAS_PASSWORD", new String(PASSWORD)),
                Map.entry("QUARKUS_TLS_TRUST_STORE_P12_PATH", trust.toString()),
                Map.entry("QUARKUS_TLS_TRUST_STORE_P12_PASSWORD", new String(PASSWORD)),
                Map.entry("QUARKUS_HTTP_SSL_PORT", Integer.toString(tlsPort)),
                Map.entry("ENTANGLE_CLIENT_CERTIFICATE", "required"),
                Map.entry("QUARKUS_HTTP_INSECURE_REQUESTS", "disabled")));
        List<ManagedChannel> channels = new ArrayList<>();
        try {
            ManagedChannel trainer = channel(channels, tlsPort, ClientTls.credentials(trust, PASSWORD, client, PASSWORD));
            awaitServing(stack, trainer, Duration.ofSeconds(120));

            IngestResult r = Uploader.upload(trainer, Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-30"),
                    UploadHeader.newBuilder().setRun("mtls-run").setStep(30).build(), p -> { });
            assertEquals(IngestResult.State.NEW, r.getState());

            // no client certificate: the handshake passes (the build only asks for one), the filter refuses
            ManagedChannel anonymous = channel(channels, tlsPort, ClientTls.credentials(trust, PASSWORD, null, null));
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> registerNothing(anonymous));
            assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), e.getStatus().toString());
            // another CA's certificate: not a verified peer (the JDK's TLS, only asked for one, leaves it
            // unauthenticated rather than failing the handshake), so refused like no certificate
            ManagedChannel strangerChannel = channel(channels, tlsPort, ClientTls.credentials(trust, PASSWORD, stranger, PASSWORD));
            e = assertThrows(StatusRuntimeException.class, () -> registerNothing(strangerChannel));
            assertTrue(e.getStatus().getCode() == Status.Code.UNAUTHENTICATED || e.getStatus().getCode() == Status.Code.UNAVAILABLE,
                    e.getStatus().toString());
            // no TLS at all: no connection
            ManagedChannel plain = channel(channels, tlsPort, InsecureChannelCredentials.create());
            e = assertThrows(StatusRuntimeException.class, () -> registerNothing(plain));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
            // the health probes stay open to a client without a certificate (Kubernetes has none)
            assertEquals(200, healthStatus(tlsPort, trust));
        } finally {
            channels.forEach(ManagedChannel::shutdownNow);
            stack.stop("ingest-mtls", Duration.ofSeconds(20));
        }
    }

    /** GET /q/health/live over TLS, trusting the CA, presenting no certificate. */
    static int healthStatus(int port, Path trust) throws Exception {
        var tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        var ks = java.security.KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(trust)) {
            ks.load(in, PASSWORD);
        }
        tmf.init(ks);
        var ssl = javax.net.ssl.SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        var http = java.net.http.HttpClient.newBuilder().sslContext(ssl).build();
        return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("https://127.0.0.1:" + port + "/q/health/live")).build(),
                java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    /** A call that reaches the service and is answered (INVALID_ARGUMENT: nothing there) without side effects. */
    static void registerNothing(ManagedChannel ch) {
        CheckpointIngestGrpc.newBlockingStub(ch).withDeadlineAfter(java.time.Duration.ofSeconds(20))
                .register(RegisterRequest.newBuilder().setPrefix("no-such-prefix-" + System.nanoTime() + "/")
                        .setHeader(UploadHeader.newBuilder().setRun("mtls-probe").setStep(1)).build());
    }

    /** The replica's plain HTTP is off, so readiness is a TLS call that gets its answer. */
    static void awaitServing(LocalStack stack, ManagedChannel ch, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            assertTrue(stack.running("ingest-mtls"), "the mTLS replica exited: see its log");
            try {
                registerNothing(ch);
                throw new AssertionError("Register of an empty prefix succeeded");
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT) return;
                if (System.nanoTime() > deadline) throw new AssertionError("the mTLS replica did not answer: " + e.getStatus());
            }
            Thread.sleep(500);
        }
    }

    static ManagedChannel channel(List<ManagedChannel> all, int port, io.grpc.ChannelCredentials creds) {
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", port, creds).build();
        all.add(ch);
        return ch;
    }

    /** A key pair in its own PKCS12, its certificate signed by the CA in {@code ca}, with the CA's certificate in the chain. */
    Path signed(Path ca, Path caCert, String alias, String dname, String san, String eku) throws Exception {
        Path store = pki.resolve(alias + ".p12"), csr = pki.resolve(alias + ".csr"), crt = pki.resolve(alias + ".crt");
        keytool("-genkeypair", "-alias", alias, "-dname", dname, "-keyalg", "EC", "-validity", "2", "-keystore", store.toString());
        keytool("-certreq", "-alias", alias, "-keystore", store.toString(), "-file", csr.toString());
        List<String> gen = new ArrayList<>(List.of("-gencert", "-alias", "ca", "-keystore", ca.toString(), "-infile", csr.toString(),
                "-outfile", crt.toString(), "-validity", "2", "-ext", eku));
        if (san != null) gen.addAll(List.of("-ext", san));
        keytool(gen.toArray(String[]::new));
        keytool("-importcert", "-noprompt", "-alias", "ca", "-file", caCert.toString(), "-keystore", store.toString());
        keytool("-importcert", "-noprompt", "-alias", alias, "-file", crt.toString(), "-keystore", store.toString());
        return store;
    }

    Path export(Path store, String alias) throws Exception {
        Path crt = pki.resolve(store.getFileName() + "-" + alias + ".crt");
        keytool("-exportcert", "-rfc", "-alias", alias, "-keystore", store.toString(), "-file", crt.toString());
        return crt;
    }

    static void keytool(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-storetype", "PKCS12", "-storepass", new String(PASSWORD)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) throw new IllegalStateException("keytool " + String.join(" ", args) + ": " + out);
        assertTrue(Files.exists(Path.of(System.getProperty("java.home"), "bin", "keytool")));
    }
}
