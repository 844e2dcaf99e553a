package dev.entangle.cli;

import com.google.protobuf.ByteString;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.proto.ingest.v1.CheckpointIngestGrpc;
import dev.entangle.proto.ingest.v1.FileChunk;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.ingest.v1.UploadRequest;
import dev.entangle.proto.ingest.v1.UploadResponse;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

@Command(name = "ingest", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Upload a checkpoint folder to the ingest service (gRPC streaming), or register a base model.",
                "The folder is checked locally first; only safetensors and JSON files travel."})
final class IngestCommand implements java.util.concurrent.Callable<Integer> {

    /** Bytes per upload message: well under the server's 16 MiB inbound limit. */
    private static final int CHUNK = 4 << 20;

    @Parameters(index = "0", paramLabel = "CHECKPOINT_DIR")
    Path dir;

    @Option(names = "--run", paramLabel = "NAME", description = "Run name (default: from trainer_event.json).")
    String run;

    @Option(names = "--step", paramLabel = "N", description = "Training step (default: trainer_event.json or checkpoint-N).")
    Long step;

    @Option(names = "--base", paramLabel = "BASE_ID", description = "Registered base model (full fine-tuning checkpoints).")
    String base;

    @Option(names = "--base-model", paramLabel = "NAME", description = "Register DIR as a base model under NAME.")
    String baseModel;

    @Option(names = "--ingest", paramLabel = "HOST:PORT", description = "Ingest service (default: $ENTANGLE_INGEST or localhost:8081).")
    String endpoint = Endpoints.INGEST;

    @Option(names = "--verbose", description = "Stack traces on errors.")
    boolean verbose;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        try (Checkpoint ignored = Checkpoint.open(dir)) {
            // validated locally: kind, configs, every safetensors header
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString();
                return n.endsWith(".safetensors") || n.endsWith(".json");
            }).sorted().toList();
        }
        ManagedChannel channel = Endpoints.channel(endpoint);
        PrintWriter err = spec.commandLine().getErr();
        try {
            CompletableFuture<IngestResult> done = new CompletableFuture<>();
            AtomicReference<Long> lastShown = new AtomicReference<>(0L);
            StreamObserver<UploadRequest> up = CheckpointIngestGrpc.newStub(channel).upload(new StreamObserver<>() {
                @Override
                public void onNext(UploadResponse r) {
                    if (r.hasResult()) done.complete(r.getResult());
                    else if (r.getProgress().getBytesReceived() > lastShown.get()) {
                        lastShown.set(r.getProgress().getBytesReceived());
                        err.printf(Locale.ROOT, "  %s %.1f MB (%s)%n", r.getProgress().getStage(),
                                r.getProgress().getBytesReceived() / 1e6, r.getProgress().getFile());
                        err.flush();
                    }
                }

                @Override
                public void onError(Throwable t) { done.completeExceptionally(t); }

                @Override
                public void onCompleted() {
                    if (!done.isDone()) done.completeExceptionally(new IllegalStateException("the ingest service ended without a result"));
                }
            });
            UploadHeader.Builder h = UploadHeader.newBuilder();
            if (run != null) h.setRun(run);
            if (step != null) h.setStep(step);
            if (base != null) h.setBaseId(base);
            if (baseModel != null) h.setBaseModelName(baseModel);
            up.onNext(UploadRequest.newBuilder().setHeader(h).build());
            byte[] buf = new byte[CHUNK];
            for (Path f : files) {
                long offset = 0;
                try (InputStream in = Files.newInputStream(f)) {
                    int n;
                    while ((n = in.readNBytes(buf, 0, buf.length)) > 0) {
                        if (done.isDone()) break; // the server already refused
                        up.onNext(UploadRequest.newBuilder().setChunk(FileChunk.newBuilder()
                                .setPath(f.getFileName().toString()).setOffset(offset).setData(ByteString.copyFrom(buf, 0, n))).build());
                        offset += n;
                    }
                }
            }
            up.onCompleted();
            IngestResult r = done.get(30, TimeUnit.MINUTES);
            spec.commandLine().getOut().println(com.google.protobuf.util.JsonFormat.printer().print(r));
            spec.commandLine().getOut().flush();
            return 0;
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof StatusRuntimeException s) throw Errors.remote(endpoint, s);
            throw e;
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
