package dev.entangle.query.grpc;

import dev.entangle.core.profile.Target;
import dev.entangle.proto.events.v1.Metrics;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.query.v1.CompareRequest;
import dev.entangle.proto.query.v1.CompareResponse;
import dev.entangle.proto.query.v1.CutSpectrum;
import dev.entangle.proto.query.v1.GetProfileRequest;
import dev.entangle.proto.query.v1.GetProfileResponse;
import dev.entangle.proto.query.v1.ListRunsRequest;
import dev.entangle.proto.query.v1.ListRunsResponse;
import dev.entangle.proto.query.v1.NoHairRequest;
import dev.entangle.proto.query.v1.NoHairResponse;
import dev.entangle.proto.query.v1.Query;
import dev.entangle.proto.query.v1.RunComparison;
import dev.entangle.proto.query.v1.RunState;
import dev.entangle.proto.query.v1.RunSummary;
import dev.entangle.proto.query.v1.RunUpdate;
import dev.entangle.proto.query.v1.StepSelector;
import dev.entangle.proto.query.v1.SweepPoint;
import dev.entangle.proto.query.v1.SweepRequest;
import dev.entangle.proto.query.v1.SweepResponse;
import dev.entangle.proto.query.v1.TimelinePoint;
import dev.entangle.proto.query.v1.TimelineRequest;
import dev.entangle.proto.query.v1.TimelineResponse;
import dev.entangle.proto.query.v1.WatchRunRequest;
import dev.entangle.query.domain.Comparisons;
import dev.entangle.query.domain.ProfileMetrics;
import dev.entangle.query.domain.ProfileView;
import dev.entangle.query.client.SpectraReader;
import dev.entangle.query.client.TheoryBaselines;
import dev.entangle.security.TenantAccess;
import io.grpc.Status;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The Query gRPC API (proto/entangle/query/v1/query.proto) over the results view. */
@GrpcService
public class QueryGrpcService implements Query {

    @Inject
    ProfileView view;

    @Inject
    SpectraReader spectra;

    @Inject
    TheoryBaselines theory;

    @Inject
    TenantAccess tenancy;

    @Override
    public Uni<ListRunsResponse> listRuns(ListRunsRequest request) {
        String caller = caller();
        ListRunsResponse.Builder b = ListRunsResponse.newBuilder();
        for (ProfileView.Run r : view.runs()) {
            if (!readable(r, caller)) continue;
            RunSummary.Builder s = RunSummary.newBuilder().setRun(r.name).setMethod(r.method()).setHyper(r.hyper())
                    .addAllSteps(r.steps()).setBaseId(r.baseId());
            for (long step : r.steps()) {
                s.addProgress(dev.entangle.proto.query.v1.StepProgress.newBuilder().setStep(step)
                        .setUnitsDone(r.unitsDone(step)).setUnitsTotal(r.unitsTotal(step)));
            }
            r.latestStep().ifPresent(step -> {
                s.setUnitsDone(r.unitsDone(step)).setUnitsTotal(r.unitsTotal(step));
                s.setState(r.unitsDone(step) >= r.unitsTotal(step) ? RunState.COMPLETE : RunState.PROFILING);
            });
            b.addRuns(s);
        }
        return Uni.createFrom().item(b.build());
    }

    @Override
    public Uni<GetProfileResponse> getProfile(GetProfileRequest req) {
        String caller = caller();
        return Uni.createFrom().item(() -> {
            requireReadable(req.getRun(), caller);
            ProfileView.Entry e = view.profile(req.getRun(), req.hasStep() ? step(req.getStep()) : null, req.getTarget()).orElseThrow(() ->
                    Status.NOT_FOUND.withDescription("no profile " + req.getTarget() + " for run " + req.getRun()
                            + (req.hasStep() && !req.getStep().getLatest() ? " step " + req.getStep().getStep() : "")).asRuntimeException());
            GetProfileResponse.Builder b = GetProfileResponse.newBuilder().setRun(req.getRun()).setStep(e.result().getStep())
                    .setCheckpointId(e.result().getCheckpointId()).setProfile(e.profile());
            if (req.getSpectra()) {
                if (e.result().getSpectraKey().isEmpty()) {
                    throw Status.FAILED_PRECONDITION.withDescription("spectra were not kept for this profile (entangle.profiler.spectra=false)").asRuntimeException();
                }
                for (Map.Entry<Integer, double[]> s : spectra.read(e.result().getSpectraKey(), e.profile().getName()).entrySet()) {
                    CutSpectrum.Builder cs = CutSpectrum.newBuilder().setCut(s.getKey());
                    for (double p : s.getValue()) cs.addP(p);
                    b.addSpectra(cs);
                }
            }
            return b.build();
        }).runSubscriptionOn(io.smallrye.mutiny.infrastructure.Infrastructure.getDefaultWorkerPool());
    }

    @Override
    public Uni<CompareResponse> compare(CompareRequest req) {
        String target = target(req.getTarget(), req.getLayer(), req.getModule());
        String caller = caller();
        // baselines come from the theory service over gRPC: off the event loop
        return Uni.createFrom().item(() -> {
            req.getRunsList().forEach(run -> requireReadable(run, caller));
            CompareResponse.Builder b = CompareResponse.newBuilder().setTarget(target);
            for (String run : req.getRunsList()) {
                ProfileView.Entry e = view.profile(run, req.hasStep() ? step(req.getStep()) : null, target).orElse(null);
                RunComparison rc = Comparisons.run(run, e, theory::page);
                if (e != null && !e.result().getSpectraKey().isEmpty()) {
                    double[] s = spectra.read(e.result().getSpectraKey(), e.profile().getName()).get(e.profile().getRowColumnCut());
                    var mp = theory.mpDistance(e.profile(), s);
                    if (mp != null) {
                        rc = rc.toBuilder().setBaselines(rc.getBaselines().toBuilder().setMpKolmogorovSmirnov(mp.getKolmogorovSmirnov())
                                .setMpJensenShannon(mp.getJensenShannon()).setMpAvailable(true)).build();
                    }
                }
                b.addRuns(rc);
            }
            return b.build();
        }).runSubscriptionOn(io.smallrye.mutiny.infrastructure.Infrastructure.getDefaultWorkerPool());
    }

    @Override
    public Uni<NoHairResponse> noHair(NoHairRequest req) {
        if (req.getRunsCount() < 2) {
            return Uni.createFrom().failure(Status.INVALID_ARGUMENT.withDescription("the no-hair report compares at least two runs").asRuntimeException());
        }
        String caller = caller();
        List<Map<String, ProfileView.Entry>> perRun = new ArrayList<>();
        for (String run : req.getRunsList()) {
            requireReadable(run, caller);
            ProfileView.Run r = view.run(run).orElseThrow(() -> Status.NOT_FOUND.withDescription("unknown run " + run).asRuntimeException());
            Long s = req.hasStep() ? step(req.getStep()) : null;
            long at = s != null ? s : r.latestStep().orElse(-1L);
            perRun.add(r.profiles(at));
        }
        return Uni.createFrom().item(NoHairResponse.newBuilder().addAllLayers(Comparisons.noHair(perRun)).build());
    }

    @Override
    public Uni<TimelineResponse> timeline(TimelineRequest req) {
        requireReadable(req.getRun(), caller());
        ProfileView.Run r = view.run(req.getRun()).orElseThrow(() ->
                Status.NOT_FOUND.withDescription("unknown run " + req.getRun()).asRuntimeException());
        TimelineResponse.Builder b = TimelineResponse.newBuilder();
        for (long step : r.steps()) {
            Optional<Double> v = invalidArgument(() -> ProfileMetrics.timelineValue(r, step, req.getTarget(), req.getMetric()));
            v.ifPresent(x -> b.addPoints(TimelinePoint.newBuilder().setStep(step).setValue(x)));
        }
        return Uni.createFrom().item(b.build());
    }

    @Override
    public Uni<SweepResponse> sweep(SweepRequest req) {
        String caller = caller();
        SweepResponse.Builder b = SweepResponse.newBuilder();
        for (String run : req.getRunsList()) {
            requireReadable(run, caller);
            ProfileView.Entry e = view.profile(run, req.hasStep() ? step(req.getStep()) : null, req.getTarget()).orElse(null);
            if (e == null) continue;
            double x = invalidArgument(() -> ProfileMetrics.axis(e.result().getHyper(), req.getBy()));
            SweepPoint.Builder p = SweepPoint.newBuilder().setRun(run).setX(x).setMidS(ProfileMetrics.midS(e.profile()))
                    .setValleyDepth(ProfileMetrics.valleyDepth(e.profile()));
            view.run(run).flatMap(r -> r.latestStep().flatMap(r::metrics)).filter(Metrics::hasTestLoss)
                    .ifPresent(m -> p.setTestLoss(m.getTestLoss()));
            b.addPoints(p);
        }
        return Uni.createFrom().item(b.build());
    }

    @Override
    public Multi<RunUpdate> watchRun(WatchRunRequest req) {
        String caller = caller();
        requireReadable(req.getRun(), caller);
        return Multi.createFrom().emitter(em -> {
            Runnable stop = view.listen(r -> {
                if (!r.getRun().equals(req.getRun())) return;
                if (!TenantAccess.owns(caller, r.getTenant())) return;   // a run watched before it existed, then created by another tenant
                ProfileView.Run run = view.run(r.getRun()).orElseThrow();
                for (Profile p : r.getProfilesList()) {
                    em.emit(RunUpdate.newBuilder().setRun(r.getRun()).setStep(r.getStep()).setTarget(r.getTarget())
                            .setUnitsDone(run.unitsDone(r.getStep())).setUnitsTotal(run.unitsTotal(r.getStep())).setProfile(p).build());
                }
            });
            em.onTermination(stop);
        });
    }

    /** The calling tenant under tenancy, else null (read in the call's context). */
    private String caller() {
        return tenancy.caller();
    }

    /**
     * Per-run authorisation: with tenancy on, a tenant reads only the runs it owns; another
     * tenant's run answers as an unknown one (NOT_FOUND), so that run names do not leak.
     */
    private static boolean readable(ProfileView.Run r, String caller) {
        return TenantAccess.owns(caller, r.tenant());
    }

    private void requireReadable(String run, String caller) {
        view.run(run).filter(r -> !readable(r, caller)).ifPresent(r -> {
            throw Status.NOT_FOUND.withDescription("unknown run " + run).asRuntimeException();
        });
    }

    /** A request's bad metric or axis, as INVALID_ARGUMENT. */
    private static <T> T invalidArgument(java.util.function.Supplier<T> answer) {
        try {
            return answer.get();
        } catch (IllegalArgumentException e) {
            throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
        }
    }

    /** A given selector: its step, or null for "latest". */
    static Long step(StepSelector s) {
        return s.getLatest() ? null : s.getStep();
    }

    static String target(String target, int layer, String module) {
        if (!target.isBlank()) return target;
        if (module.isBlank()) throw Status.INVALID_ARGUMENT.withDescription("give a target or a module (and layer)").asRuntimeException();
        return invalidArgument(() -> Target.delta(layer, module).key());
    }
}
