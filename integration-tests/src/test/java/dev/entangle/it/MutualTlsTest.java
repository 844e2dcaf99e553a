package dev.entangle.it;

import dev.entangle.cli.ClientTls;
import dev.entangle.cli.Uploader;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.proto.ingest.v1.CheckpointIngestGrpc;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.RegisterRequest;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.query.v1.CompareRequest;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunComparison;
import dev.entangle.proto.theory.v1.PageProfileRequest;
import dev.entangle.proto.theory.v1.TheoryGrpc;
import dev.entangle.it.kit.Replica;
import dev.entangle.it.kit.StackKit;
import dev.entangle.stack.Component;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mutual TLS on an ingest replica beside the open stack, configured by environment only (Quarkus'
 * TLS registry, plain HTTP off, ENTANGLE_CLIENT_CERTIFICATE=required): a client with a
 * certificate from the trusted CA uploads; one without a certificate or with another CA's is
 * refused, a plaintext one cannot connect; the health probes stay open. And the query service
 * as a client of a theory replica behind mutual TLS.
 */
@ExtendWith(SharedStack.class)
class MutualTlsTest {

    static final char[] PASSWORD = "changeit".toCharArray();

    @TempDir
    Path pki;

    /** A CA and its trust store, with certificates it signed, and one from another CA. */
    record Pki(Path trust, Path server, Path client, Path stranger, Path service) {}

    Pki pki() throws Exception {
        Path ca = pki.resolve("ca.p12"), otherCa = pki.resolve("other-ca.p12");
        keytool("-genkeypair", "-alias", "ca", "-dname", "CN=entangle-test-ca", "-ext", "bc:c", "-keyalg", "EC", "-validity", "2", "-keystore", ca.toString());
        keytool("-genkeypair", "-alias", "ca", "-dname", "CN=someone-else", "-ext", "bc:c", "-keyalg", "EC", "-validity", "2", "-keystore", otherCa.toString());
        Path trust = pki.resolve("trust.p12");
        Path caCert = export(ca, "ca");
        keytool("-importcert", "-noprompt", "-alias", "ca", "-file", caCert.toString(), "-keystore", trust.toString());
        return new Pki(trust,
                signed(ca, caCert, "server", "CN=localhost", "SAN=ip:127.0.0.1,dns:localhost", "EKU=serverAuth"),
                signed(ca, caCert, "client", "CN=trainer", null, "EKU=clientAuth"),
                signed(otherCa, export(otherCa, "ca"), "stranger", "CN=stranger", null, "EKU=clientAuth"),
                // a service that is a server to its callers and a client of another service
                signed(ca, caCert, "service", "CN=localhost", "SAN=ip:127.0.0.1,dns:localhost", "EKU=serverAuth,clientAuth"));
    }

    /** Environment of a replica serving only TLS on {@code tlsPort} with {@code keyStore}, requiring trusted client certificates. */
    static Map<String, String> mutualTls(Pki pki, Path keyStore, String alias, int tlsPort) {
        return Map.ofEntries(
                Map.entry("QUARKUS_TLS_KEY_STORE_P12_PATH", keyStore.toString()),
                Map.entry("QUARKUS_TLS_KEY_STORE_P12_PASSWORD", new String(PASSWORD)),
                Map.entry("QUARKUS_TLS_KEY_STORE_P12_ALIAS", alias),
                Map.entry("QUARKUS_TLS_KEY_STORE_P12_ALIAS_PASSWORD", new String(PASSWORD)),
                Map.entry("QUARKUS_TLS_TRUST_STORE_P12_PATH", pki.trust().toString()),
                Map.entry("QUARKUS_TLS_TRUST_STORE_P12_PASSWORD", new String(PASSWORD)),
                Map.entry("QUARKUS_HTTP_SSL_PORT", Integer.toString(tlsPort)),
                Map.entry("ENTANGLE_CLIENT_CERTIFICATE", "required"),
                Map.entry("QUARKUS_HTTP_INSECURE_REQUESTS", "disabled"));
    }

    @Test
    void onlyClientsWithATrustedCertificateGetThrough() throws Exception {
        Pki certs = pki();
        Path trust = certs.trust(), client = certs.client(), stranger = certs.stranger();

        StackKit stack = SharedStack.stack();
        int tlsPort = StackKit.freePort();   // the replica serves TLS there, nothing on plain HTTP
        Replica mtls = stack.startReplica(Component.INGEST, "ingest-mtls", mutualTls(certs, certs.server(), "server", tlsPort));
        List<ManagedChannel> channels = new ArrayList<>();
        try {
            ManagedChannel trainer = channel(channels, tlsPort, ClientTls.credentials(trust, PASSWORD, client, PASSWORD));
            awaitServing(mtls, trainer, Duration.ofSeconds(120));

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
            mtls.stop(Duration.ofSeconds(20));
        }
    }

    /**
     * The query service's client of a theory service behind mutual TLS and the bearer token:
     * with ENTANGLE_THEORY_PLAINTEXT=false it presents its own certificate (its QUARKUS_TLS_* key
     * store) and the token, and a comparison carries the Marchenko–Pastur distance, which only
     * the theory service computes (the Page baseline has a local fallback, that distance none).
     */
    @Test
    void queryReachesATheoryServiceBehindMutualTls() throws Exception {
        Pki certs = pki();
        StackKit stack = SharedStack.stack();
        int theoryTls = StackKit.freePort(), queryTls = StackKit.freePort();
        Map<String, String> theoryEnv = new HashMap<>(mutualTls(certs, certs.server(), "server", theoryTls));
        theoryEnv.put("ENTANGLE_AUTH_TOKEN", TOKEN);
        Replica theory = stack.startReplica(Component.THEORY, "theory-mtls", theoryEnv);
        Replica tlsClient = stack.startReplica(Component.QUERY, "query-tls-client", Map.ofEntries(
                Map.entry("QUARKUS_TLS_KEY_STORE_P12_PATH", certs.service().toString()),
                Map.entry("QUARKUS_TLS_KEY_STORE_P12_PASSWORD", new String(PASSWORD)),
                Map.entry("QUARKUS_TLS_KEY_STORE_P12_ALIAS", "service"),
                Map.entry("QUARKUS_TLS_KEY_STORE_P12_ALIAS_PASSWORD", new String(PASSWORD)),
                Map.entry("QUARKUS_TLS_TRUST_STORE_P12_PATH", certs.trust().toString()),
                Map.entry("QUARKUS_TLS_TRUST_STORE_P12_PASSWORD", new String(PASSWORD)),
                Map.entry("QUARKUS_HTTP_SSL_PORT", Integer.toString(queryTls)),
                Map.entry("ENTANGLE_THEORY_HOST", "localhost"),
                Map.entry("ENTANGLE_THEORY_PORT", Integer.toString(theoryTls)),
                Map.entry("ENTANGLE_THEORY_PLAINTEXT", "false"),
                Map.entry("ENTANGLE_AUTH_TOKEN", TOKEN)));
        List<ManagedChannel> channels = new ArrayList<>();
        try {
            // the theory replica serves a trusted client with the token, and refuses one without a certificate
            PageProfileRequest page = PageProfileRequest.newBuilder().setRows(16).setCols(16).build();
            ManagedChannel trusted = channel(channels, theoryTls, ClientTls.credentials(certs.trust(), PASSWORD, certs.client(), PASSWORD));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (true) {
                assertTrue(theory.running(), "the mTLS theory replica exited: see its log");
                try {
                    assertEquals(7, TheoryGrpc.newBlockingStub(trusted).withInterceptors(bearer()).pageProfile(page).getCutsCount());
                    break;
                } catch (StatusRuntimeException e) {
                    if (System.nanoTime() > deadline) throw new AssertionError("the mTLS theory replica did not answer: " + e.getStatus());
                    Thread.sleep(500);
                }
            }
            ManagedChannel anonymous = channel(channels, theoryTls, ClientTls.credentials(certs.trust(), PASSWORD, null, null));
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                    () -> TheoryGrpc.newBlockingStub(anonymous).withInterceptors(bearer()).pageProfile(page));
            assertEquals(Status.Code.UNAUTHENTICATED, refused.getStatus().getCode(), refused.getStatus().toString());

            // a run profiled on the open stack, compared through the query replica
            String run = "theory-tls-run-" + System.nanoTime();
            ManagedChannel ingest = ManagedChannelBuilder.forAddress("127.0.0.1", stack.port(Component.INGEST)).usePlaintext().build();
            channels.add(ingest);
            assertEquals(IngestResult.State.NEW, Uploader.upload(ingest, Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-30"),
                    UploadHeader.newBuilder().setRun(run).setStep(30).build(), p -> { }).getState());
            tlsClient.awaitReady(deadline);
            ManagedChannel q = ManagedChannelBuilder.forAddress("127.0.0.1", tlsClient.port()).usePlaintext().build();
            channels.add(q);
            CompareRequest compare = CompareRequest.newBuilder().addRuns(run).setTarget("layers.0.q_proj").build();
            RunComparison rc = null;
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < until && (rc == null || !rc.getFound())) {
                rc = QueryGrpc.newBlockingStub(q).withInterceptors(bearer()).compare(compare).getRuns(0);
                if (!rc.getFound()) Thread.sleep(250);
            }
            assertTrue(rc != null && rc.getFound(), "the run reached the query replica: " + rc);
            assertTrue(rc.getBaselines().getMpAvailable(), "Marchenko–Pastur distance from the theory service over mutual TLS: " + rc.getBaselines());
            assertTrue(rc.getBaselines().getMpKolmogorovSmirnov() > 0.5, "a rank-4 cut is far from Marchenko–Pastur: " + rc.getBaselines());
        } finally {
            channels.forEach(ManagedChannel::shutdownNow);
            tlsClient.stop(Duration.ofSeconds(20));
            theory.stop(Duration.ofSeconds(20));
        }
    }

    static final String TOKEN = "mtls-it-token";

    static io.grpc.ClientInterceptor bearer() {
        Metadata m = new Metadata();
        m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + TOKEN);
        return MetadataUtils.newAttachHeadersInterceptor(m);
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
    static void awaitServing(Replica replica, ManagedChannel ch, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            assertTrue(replica.running(), "the mTLS replica exited: see its log");
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
