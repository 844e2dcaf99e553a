package dev.entangle.ingest.grpc;

import dev.entangle.core.CheckpointException;
import dev.entangle.ingest.config.IngestConfig;
import dev.entangle.ingest.core.IngestRequest;
import dev.entangle.ingest.core.RunOwnershipException;
import dev.entangle.ingest.domain.IngestPipeline;
import dev.entangle.ingest.domain.ObjectStoreFolders;
import dev.entangle.proto.ingest.v1.CheckpointIngest;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.RegisterRequest;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.ingest.v1.UploadProgress;
import dev.entangle.proto.ingest.v1.UploadRequest;
import dev.entangle.proto.ingest.v1.UploadResponse;
import dev.entangle.objectstore.ObjectStoreSettings;
import dev.entangle.store.Layout;
import dev.entangle.security.TenantAccess;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.smallrye.mutiny.subscription.Cancellable;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

/** The CheckpointIngest gRPC API (proto/entangle/ingest/v1/ingest.proto). */
@GrpcService
public class IngestGrpcService implements CheckpointIngest {

    private static final Logger LOG = Logger.getLogger(IngestGrpcService.class);
    /** Progress is reported at least every this many bytes received. */
    private static final long PROGRESS_EVERY = 8L << 20;

    @Inject
    IngestPipeline pipeline;

    @Inject
    IngestConfig config;

    @Inject
    ObjectStoreFolders folders;

    @Inject
    ObjectStoreSettings s3;

    @Inject
    TenantAccess tenancy;

    @Override
    public Multi<UploadResponse> upload(Multi<UploadRequest> requests) {
        String tenant = tenancy.caller();   // read in the call's context, before any hop to a worker
        return Multi.createFrom().emitter(em -> {
            UploadSession session;
            try {
                session = new UploadSession(config.ingest().spoolDir(), config.ingest().maxUploadBytes());
            } catch (IOException e) {
                em.fail(status(e));
                return;
            }
            AtomicReference<Cancellable> upstream = new AtomicReference<>();
            long[] nextReport = {PROGRESS_EVERY};
            upstream.set(requests.emitOn(Infrastructure.getDefaultWorkerPool()).subscribe().with(
                    req -> {
                        try {
                            session.accept(req);
                            if (req.hasHeader() && tenant != null && !req.getHeader().getRun().isBlank()) {
                                // another tenant's run: refused before a byte of the files streams
                                pipeline.requireOwner(req.getHeader().getRun(), tenant);
                            }
                            if (session.received() >= nextReport[0]) {
                                nextReport[0] = session.received() + PROGRESS_EVERY;
                                em.emit(progress("receiving", session));
                            }
                        } catch (Exception e) {
                            Cancellable c = upstream.get();
                            if (c != null) c.cancel();
                            session.close();
                            em.fail(status(e));
                        }
                    },
                    failure -> { // the client went away: nothing was stored, nothing is announced
                        session.close();
                        LOG.infof("upload interrupted: %s", failure.toString());
                        em.fail(status(failure));
                    },
                    () -> {
                        try (session) {
                            Path dir = session.finish();
                            em.emit(progress("validating", session));
                            UploadHeader h = session.header();
                            IngestResult r = pipeline.ingest(dir, request(h).withTenant(tenant).withSource(session.source()), h.getBaseModelName(), h.getProbeTokensList());
                            em.emit(UploadResponse.newBuilder().setResult(r).build());
                            em.complete();
                        } catch (Exception e) {
                            em.fail(status(e));
                        }
                    }));
        });
    }

    @Override
    public Uni<IngestResult> register(RegisterRequest req) {
        if (tenancy.enabled()) {
            // Register reads with the service's own S3 credentials from any bucket and prefix it can
            // see: under tenancy that would let one tenant ingest another's files.
            return Uni.createFrom().failure(Status.PERMISSION_DENIED
                    .withDescription("Register is off while tenancy is on (it reads with the service's credentials); upload instead").asRuntimeException());
        }
        return Uni.createFrom().item(() -> {
            try {
                return registerBlocking(req);
            } catch (Exception e) {
                throw status(e);
            }
        }).runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    private IngestResult registerBlocking(RegisterRequest req) throws IOException {
        String bucket = req.getBucket().isBlank() ? s3.bucket() : req.getBucket();
        return folders.register(bucket, req.getPrefix(), request(req.getHeader()), req.getHeader().getBaseModelName(), req.getHeader().getProbeTokensList());
    }

    /** What the header says; {@code source} is left to the caller (the session's, or the bucket + prefix). */
    public static IngestRequest request(UploadHeader h) {
        return new IngestRequest(h.getRun().isBlank() ? null : Layout.requireName(h.getRun(), "run"),
                h.hasStep() ? h.getStep() : null, h.getBaseId().isBlank() ? null : h.getBaseId(),
                h.hasLearningRate() ? h.getLearningRate() : null, h.hasTrainLoss() ? h.getTrainLoss() : null,
                h.hasTestLoss() ? h.getTestLoss() : null, null, null);
    }

    private static UploadResponse progress(String stage, UploadSession s) {
        return UploadResponse.newBuilder().setProgress(UploadProgress.newBuilder()
                .setStage(stage).setBytesReceived(s.received()).setFile(s.currentFile())).build();
    }

    /** Bad input → INVALID_ARGUMENT with the one-line rule; another tenant's run → PERMISSION_DENIED; store/broker trouble → UNAVAILABLE. */
    static StatusRuntimeException status(Throwable e) {
        if (e instanceof StatusRuntimeException s) return s;
        if (e instanceof RunOwnershipException) return Status.PERMISSION_DENIED.withDescription(e.getMessage()).asRuntimeException();
        if (e instanceof CheckpointException || e instanceof IllegalArgumentException) {
            return Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
        }
        if (e instanceof IOException) {
            return Status.UNAVAILABLE.withDescription(e.getMessage()).withCause(e).asRuntimeException();
        }
        if (e instanceof io.grpc.StatusException s) return s.getStatus().asRuntimeException();
        LOG.error("ingest failed", e);
        return Status.INTERNAL.withDescription(String.valueOf(e.getMessage())).withCause(e).asRuntimeException();
    }
}
