package dev.entangle.it;

import dev.entangle.proto.query.v1.RunState;
import dev.entangle.cli.Uploader;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.CheckpointIngested;
import dev.entangle.proto.ingest.v1.CheckpointIngestGrpc;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.RegisterRequest;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.query.v1.GetProfileRequest;
import dev.entangle.proto.query.v1.ListRunsRequest;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunSummary;
import dev.entangle.it.kit.Replica;
import dev.entangle.it.kit.StackKit;
import dev.entangle.stack.Component;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A secured ingest and query (bearer token and a tenant header, as in production) beside the
 * open demo stack: calls without the token or without a tenant are refused; a run belongs to
 * the tenant that uploaded it, another tenant can neither add to it nor read it (it answers as
 * unknown), the refused upload leaves no event, and Register is off.
 */
@ExtendWith(SharedStack.class)
class TenantAccessTest {

    static final String TOKEN = "it-secret-token";
    static final String HEADER = "x-entangle-tenant";
    static final String RUN = "tenancy-run";

    @Test
    void tokenAndTenantGuardIngestAndQuery() throws Exception {
        StackKit stack = SharedStack.stack();
        Map<String, String> secured = Map.of("ENTANGLE_AUTH_TOKEN", TOKEN, "ENTANGLE_TENANT_HEADER", HEADER);
        Replica securedIngest = stack.startReplica(Component.INGEST, "ingest-secured", secured);
        Replica securedQuery = stack.startReplica(Component.QUERY, "query-secured", secured);
        ManagedChannel ingest = null, query = null;
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            securedIngest.awaitReady(deadline);
            securedQuery.awaitReady(deadline);
            ingest = ManagedChannelBuilder.forAddress("127.0.0.1", securedIngest.port()).usePlaintext().build();
            ManagedChannel ingestChannel = ingest;
            query = ManagedChannelBuilder.forAddress("127.0.0.1", securedQuery.port()).usePlaintext().build();
            Path ckpt = Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-30");
            UploadHeader header = UploadHeader.newBuilder().setRun(RUN).setStep(30).build();

            // no token (the token is checked first, whatever the tenant), or a token and no tenant: refused
            Metadata noTokenBadTenant = new Metadata();
            noTokenBadTenant.put(Metadata.Key.of(HEADER, Metadata.ASCII_STRING_MARSHALLER), "../etc");
            for (Metadata m : List.of(new Metadata(), noTokenBadTenant, headers(null), headers(""))) {
                Channel ch = as(ingest, m);
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> Uploader.uploadUnchecked(ch, ckpt, header, p -> { }));
                assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), e.getStatus().toString());
                ManagedChannel q = query;
                e = assertThrows(StatusRuntimeException.class, () -> QueryGrpc.newBlockingStub(q)
                        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m)).listRuns(ListRunsRequest.getDefaultInstance()));
                assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), e.getStatus().toString());
            }
            HttpClient http = HttpClient.newHttpClient();
            URI metrics = URI.create("http://127.0.0.1:" + securedIngest.port() + "/q/metrics");
            assertEquals(401, http.send(HttpRequest.newBuilder(metrics).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
            assertEquals(200, http.send(HttpRequest.newBuilder(metrics).header("authorization", "Bearer " + TOKEN).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode());

            // acme creates the run; globex may not add to it, and its refused upload announces nothing
            IngestResult r = Uploader.uploadUnchecked(as(ingest, headers("acme")), ckpt, header, p -> { });
            assertEquals(IngestResult.State.NEW, r.getState());
            Path other = Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-150");
            Channel asGlobex = as(ingest, headers("globex"));
            StatusRuntimeException denied = assertThrows(StatusRuntimeException.class, () -> Uploader.uploadUnchecked(asGlobex, other,
                    UploadHeader.newBuilder().setRun(RUN).setStep(150).build(), p -> { }));
            assertEquals(Status.Code.PERMISSION_DENIED, denied.getStatus().getCode(), denied.getStatus().toString());
            assertTrue(denied.getStatus().getDescription().contains(RUN) && denied.getStatus().getDescription().contains("upload header"),
                    "refused on the header, before the files stream: " + denied.getStatus().getDescription());
            KafkaTopics.read(Topics.CHECKPOINTS_INGESTED, CheckpointIngested::parseFrom, x -> x.getRun().equals(RUN), 1, Duration.ofSeconds(60));
            List<CheckpointIngested> events = KafkaTopics.readUntil(Topics.CHECKPOINTS_INGESTED, CheckpointIngested::parseFrom,
                    x -> x.getRun().equals(RUN), l -> false, Duration.ofSeconds(5));   // all there are, after the first
            assertEquals(1, events.size(), "one event, acme's: " + events);
            assertEquals("acme", events.get(0).getTenant());

            // the secured query answers about the run to acme only
            QueryGrpc.QueryBlockingStub acme = QueryGrpc.newBlockingStub(query).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers("acme")));
            QueryGrpc.QueryBlockingStub globex = QueryGrpc.newBlockingStub(query).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers("globex")));
            RunSummary run = null;
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < until && (run == null || run.getState() != RunState.COMPLETE)) {
                run = acme.listRuns(ListRunsRequest.getDefaultInstance()).getRunsList().stream().filter(x -> x.getRun().equals(RUN)).findFirst().orElse(null);
                Thread.sleep(250);
            }
            assertTrue(run != null && run.getState() == RunState.COMPLETE, "acme sees its run profiled: " + run);
            assertEquals(List.of(RUN), acme.listRuns(ListRunsRequest.getDefaultInstance()).getRunsList().stream().map(RunSummary::getRun).toList(),
                    "acme sees only its own run (not the open stack's runs)");
            assertFalse(globex.listRuns(ListRunsRequest.getDefaultInstance()).getRunsList().stream().anyMatch(x -> x.getRun().equals(RUN)));
            GetProfileRequest get = GetProfileRequest.newBuilder().setRun(RUN).setTarget("layers.0.q_proj").build();
            assertEquals("layers.0.q_proj", acme.getProfile(get).getProfile().getName());
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> globex.getProfile(get));
            assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode(), "another tenant's run answers as unknown: " + e.getStatus());

            // Register (which reads with the service's own S3 credentials) is off under tenancy
            StatusRuntimeException register = assertThrows(StatusRuntimeException.class, () -> CheckpointIngestGrpc.newBlockingStub(as(ingestChannel, headers("acme")))
                    .register(RegisterRequest.newBuilder().setPrefix("checkpoints/").setHeader(header).build()));
            assertEquals(Status.Code.PERMISSION_DENIED, register.getStatus().getCode(), register.getStatus().toString());
        } finally {
            if (ingest != null) ingest.shutdownNow();
            if (query != null) query.shutdownNow();
            securedIngest.stop(Duration.ofSeconds(20));
            securedQuery.stop(Duration.ofSeconds(20));
        }
    }

    /** The owner claim rests on the S3 server's conditional write: the first writer wins, the second is told so. */
    @Test
    void theObjectStoreWritesConditionallyFirstWriterWins() throws Exception {
        var s3 = SharedStack.s3();
        String key = "it/conditional-" + System.nanoTime();
        assertTrue(s3.putIfAbsent(key, "acme".getBytes(), "text/plain"));
        assertFalse(s3.putIfAbsent(key, "globex".getBytes(), "text/plain"));
        assertEquals("acme", new String(s3.read(key).orElseThrow()));
        s3.delete(key);
    }

    static Channel as(ManagedChannel ch, Metadata headers) {
        return ClientInterceptors.intercept(ch, MetadataUtils.newAttachHeadersInterceptor(headers));
    }

    /** The token, and the tenant header unless {@code tenant} is null. */
    static Metadata headers(String tenant) {
        Metadata m = new Metadata();
        m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + TOKEN);
        if (tenant != null) m.put(Metadata.Key.of(HEADER, Metadata.ASCII_STRING_MARSHALLER), tenant);
        return m;
    }
}
