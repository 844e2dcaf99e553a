package dev.entangle.query.grpc;

import dev.entangle.core.profile.Target;
import dev.entangle.proto.query.v1.CompareRequest;
import dev.entangle.proto.query.v1.CompareResponse;
import dev.entangle.proto.query.v1.GetProfileRequest;
import dev.entangle.proto.query.v1.GetProfileResponse;
import dev.entangle.proto.query.v1.ListRunsRequest;
import dev.entangle.proto.query.v1.ListRunsResponse;
import dev.entangle.proto.query.v1.NoHairRequest;
import dev.entangle.proto.query.v1.NoHairResponse;
import dev.entangle.proto.query.v1.Query;
import dev.entangle.proto.query.v1.RunUpdate;
import dev.entangle.proto.query.v1.StepSelector;
import dev.entangle.proto.query.v1.SweepRequest;
import dev.entangle.proto.query.v1.SweepResponse;
import dev.entangle.proto.query.v1.TimelineRequest;
import dev.entangle.proto.query.v1.TimelineResponse;
import dev.entangle.proto.query.v1.WatchRunRequest;
import dev.entangle.query.domain.QueryAnswers;
import dev.entangle.security.TenantAccess;
import io.grpc.Status;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.inject.Inject;

/**
 * The Query gRPC API (proto/entangle/query/v1/query.proto): requests in, {@link QueryAnswers}
 * out. The caller's tenant is read here, in the call's context, before any hop to a worker.
 */
@GrpcService
public class QueryGrpcService implements Query {

    @Inject
    QueryAnswers answers;

    @Inject
    TenantAccess tenancy;

    @Override
    public Uni<ListRunsResponse> listRuns(ListRunsRequest request) {
        String caller = tenancy.caller();
        return Uni.createFrom().item(() -> answers.runs(caller));
    }

    @Override
    public Uni<GetProfileResponse> getProfile(GetProfileRequest req) {
        String caller = tenancy.caller();
        // spectra come from the object store: off the event loop
        return Uni.createFrom().item(() -> answers.profile(caller, req.getRun(), req.hasStep() ? step(req.getStep()) : null, req.getTarget(), req.getSpectra()))
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    @Override
    public Uni<CompareResponse> compare(CompareRequest req) {
        String target = target(req.getTarget(), req.getLayer(), req.getModule());
        String caller = tenancy.caller();
        // baselines come from the theory service over gRPC: off the event loop
        return Uni.createFrom().item(() -> answers.compare(caller, req.getRunsList(), target, req.hasStep() ? step(req.getStep()) : null))
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    @Override
    public Uni<NoHairResponse> noHair(NoHairRequest req) {
        String caller = tenancy.caller();
        return Uni.createFrom().item(() -> answers.noHair(caller, req.getRunsList(), req.hasStep() ? step(req.getStep()) : null));
    }

    @Override
    public Uni<TimelineResponse> timeline(TimelineRequest req) {
        String caller = tenancy.caller();
        return Uni.createFrom().item(() -> answers.timeline(caller, req.getRun(), req.getTarget(), req.getMetric()));
    }

    @Override
    public Uni<SweepResponse> sweep(SweepRequest req) {
        String caller = tenancy.caller();
        return Uni.createFrom().item(() -> answers.sweep(caller, req.getRunsList(), req.getTarget(), req.getBy(), req.hasStep() ? step(req.getStep()) : null));
    }

    @Override
    public Multi<RunUpdate> watchRun(WatchRunRequest req) {
        String caller = tenancy.caller();
        return Multi.createFrom().emitter(em -> em.onTermination(answers.watchRun(caller, req.getRun(), em::emit)));
    }

    /** A given selector: its step, or null for "latest". */
    static Long step(StepSelector s) {
        return s.getLatest() ? null : s.getStep();
    }

    static String target(String target, int layer, String module) {
        if (!target.isBlank()) return target;
        if (module.isBlank()) throw Status.INVALID_ARGUMENT.withDescription("give a target or a module (and layer)").asRuntimeException();
        try {
            return Target.delta(layer, module).key();
        } catch (IllegalArgumentException e) {
            throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
        }
    }
}
