package dev.entangle.ingest;

import com.google.protobuf.ByteString;
import dev.entangle.core.testing.BadInputs;
import dev.entangle.proto.Topics;
import dev.entangle.proto.ingest.v1.CheckpointIngestGrpc;
import dev.entangle.proto.ingest.v1.FileChunk;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.ingest.v1.UploadRequest;
import dev.entangle.proto.ingest.v1.UploadResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.reactive.messaging.memory.InMemoryConnector;
import jakarta.enterprise.inject.Any;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ingest service starts with its real configuration (a mapping error fails here, not first in
 * the stack tests), and a corrupt upload is refused over gRPC naming the file and the rule, with
 * no event on the (in-memory stand-in of the) events topic. Its S3 endpoint leads nowhere: the
 * refusal comes before any object is written.
 */
@QuarkusTest
@TestProfile(IngestServiceTest.InMemory.class)
class IngestServiceTest {

    public static class InMemory implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> m = new HashMap<>(InMemoryConnector.switchOutgoingChannelsToInMemory(Topics.CHECKPOINTS_INGESTED));
            m.putAll(InMemoryConnector.switchIncomingChannelsToInMemory(Topics.OBJECT_STORE_EVENTS, Topics.CHECKPOINTS_SAVED));
            return m;
        }
    }

    @Inject
    @Any
    InMemoryConnector connector;

    @TestHTTPResource
    URL url;

    @TempDir
    Path tmp;

    @Test
    void aCorruptUploadIsRefusedNamingFileAndRuleWithNoEvent() throws Exception {
        Map<String, BadInputs.Case> cases = new HashMap<>();
        for (BadInputs.Case c : BadInputs.all()) cases.put(c.name(), c);
        ManagedChannel ch = ManagedChannelBuilder.forAddress(url.getHost(), url.getPort()).usePlaintext().build();
        try {
            for (String name : List.of("truncated file", "overlapping offsets")) {
                BadInputs.Case c = cases.get(name);
                Path dir = c.builder().build(Files.createDirectories(tmp.resolve(name.replace(' ', '-')))).checkpoint();
                StatusRuntimeException e = assertInstanceOf(StatusRuntimeException.class, assertThrows(ExecutionException.class,
                        () -> upload(ch, dir, UploadHeader.newBuilder().setRun("corrupt-run").setStep(1).build()).get(60, TimeUnit.SECONDS)).getCause());
                assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), name);
                String msg = e.getStatus().getDescription();
                assertTrue(msg.contains("adapter_model.safetensors") && msg.contains(c.rule()), name + ": " + msg);
                assertTrue(msg.startsWith("the upload/adapter_model.safetensors"), "no source given: the upload, not the spool folder: " + msg);
                // with the folder named as the CLI names it, the refusal names the user's path
                StatusRuntimeException named = assertInstanceOf(StatusRuntimeException.class, assertThrows(ExecutionException.class,
                        () -> upload(ch, dir, UploadHeader.newBuilder().setRun("corrupt-run").setStep(1)
                                .setSource("/home/ada/out/corrupt-run/checkpoint-1").build()).get(60, TimeUnit.SECONDS)).getCause());
                String m2 = named.getStatus().getDescription();
                assertTrue(m2.startsWith("/home/ada/out/corrupt-run/checkpoint-1/adapter_model.safetensors") && m2.contains(c.rule()), m2);
                assertFalse(m2.contains("upload-") || m2.contains("entangle-ingest"), "the spool folder stays internal: " + m2);
            }
            assertEquals(0, connector.sink(Topics.CHECKPOINTS_INGESTED).received().size(), "no event for a refused upload");
        } finally {
            ch.shutdownNow();
        }
    }

    /** The checkpoint folder's files as chunks after the header, as the CLI's uploader sends them. */
    static CompletableFuture<UploadResponse> upload(ManagedChannel ch, Path dir, UploadHeader header) throws Exception {
        CompletableFuture<UploadResponse> done = new CompletableFuture<>();
        StreamObserver<UploadRequest> up = CheckpointIngestGrpc.newStub(ch).upload(new StreamObserver<>() {
            @Override public void onNext(UploadResponse r) { if (r.hasResult()) done.complete(r); }
            @Override public void onError(Throwable t) { done.completeExceptionally(t); }
            @Override public void onCompleted() { done.completeExceptionally(new IllegalStateException("no result")); }
        });
        up.onNext(UploadRequest.newBuilder().setHeader(header).build());
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                up.onNext(UploadRequest.newBuilder().setChunk(FileChunk.newBuilder().setPath(dir.relativize(f).toString())
                        .setOffset(0).setData(ByteString.copyFrom(Files.readAllBytes(f)))).build());
            }
        }
        up.onCompleted();
        return done;
    }
}
