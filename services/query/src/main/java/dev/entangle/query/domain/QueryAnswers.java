package dev.entangle.query.domain;

import dev.entangle.proto.events.v1.Metrics;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.query.v1.CompareResponse;
import dev.entangle.proto.query.v1.CutSpectrum;
import dev.entangle.proto.query.v1.GetProfileResponse;
import dev.entangle.proto.query.v1.ListRunsResponse;
import dev.entangle.proto.query.v1.Metric;
import dev.entangle.proto.query.v1.NoHairResponse;
import dev.entangle.proto.query.v1.RunComparison;
import dev.entangle.proto.query.v1.RunState;
import dev.entangle.proto.query.v1.RunSummary;
import dev.entangle.proto.query.v1.RunUpdate;
import dev.entangle.proto.query.v1.StepProgress;
import dev.entangle.proto.query.v1.SweepAxis;
import dev.entangle.proto.query.v1.SweepPoint;
import dev.entangle.proto.query.v1.SweepResponse;
import dev.entangle.proto.query.v1.TimelinePoint;
import dev.entangle.proto.query.v1.TimelineResponse;
import dev.entangle.proto.theory.v1.MarchenkoPasturResponse;
import dev.entangle.query.client.SpectraReader;
import dev.entangle.query.client.TheoryBaselines;
import dev.entangle.security.TenantAccess;
import io.grpc.Status;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * What the query service answers, assembled once from the results view for both of its faces:
 * the gRPC API ({@code QueryGrpcService}) and the dashboard's JSON endpoints ({@code rest}).
 * Every method takes the calling tenant ({@code caller}: null with tenancy off) and applies the
 * per-run rule: a tenant reads only the runs it owns, and another tenant's run answers as an
 * unknown one (NOT_FOUND), so that run names do not leak. Errors are gRPC statuses, which the
 * HTTP side maps to status codes.
 */
@ApplicationScoped
public class QueryAnswers {

    @Inject
    ProfileView view;

    @Inject
    SpectraReader spectra;

    @Inject
    TheoryBaselines theory;

    /** The caller's runs with their hyper-parameters and the progress of every step. */
    public ListRunsResponse runs(String caller) {
        ListRunsResponse.Builder b = ListRunsResponse.newBuilder();
        for (ProfileView.Run r : view.runs()) {
            if (readable(r, caller)) b.addRuns(summary(r));
        }
        return b.build();
    }

    /** One run as ListRuns shows it: the latest step's progress decides the state. */
    public static RunSummary summary(ProfileView.Run r) {
        RunSummary.Builder s = RunSummary.newBuilder().setRun(r.name).setMethod(r.method()).setHyper(r.hyper())
                .addAllSteps(r.steps()).setBaseId(r.baseId());
        for (long step : r.steps()) {
            s.addProgress(StepProgress.newBuilder().setStep(step).setUnitsDone(r.unitsDone(step)).setUnitsTotal(r.unitsTotal(step)));
        }
        r.latestStep().ifPresent(step -> {
            s.setUnitsDone(r.unitsDone(step)).setUnitsTotal(r.unitsTotal(step));
            s.setState(r.unitsDone(step) >= r.unitsTotal(step) ? RunState.COMPLETE : RunState.PROFILING);
        });
        return s.build();
    }

    /** A run the caller may read, or NOT_FOUND. */
    public ProfileView.Run run(String caller, String run) {
        return view.run(run).filter(r -> readable(r, caller))
                .orElseThrow(() -> Status.NOT_FOUND.withDescription("unknown run " + run).asRuntimeException());
    }

    /**
     * The profiles of a run at one step (null: its latest step), by name; the step the answer is
     * for is the key of the one entry of the returned map.
     */
    public Map.Entry<Long, Map<String, ProfileView.Entry>> profilesAt(String caller, String run, Long step) {
        ProfileView.Run r = run(caller, run);
        long at = step != null ? step : r.latestStep().orElseThrow(() ->
                Status.NOT_FOUND.withDescription("run " + run + " has no profiles yet").asRuntimeException());
        return Map.entry(at, r.profiles(at));
    }

    /** One profile of a run (null step: the latest step that has it), with its per-cut spectra if asked. */
    public GetProfileResponse profile(String caller, String run, Long step, String target, boolean withSpectra) {
        requireReadable(run, caller);
        ProfileView.Entry e = view.profile(run, step, target).orElseThrow(() ->
                Status.NOT_FOUND.withDescription("no profile " + target + " for run " + run + (step != null ? " step " + step : "")).asRuntimeException());
        GetProfileResponse.Builder b = GetProfileResponse.newBuilder().setRun(run).setStep(e.result().getStep())
                .setCheckpointId(e.result().getCheckpointId()).setProfile(e.profile());
        if (withSpectra) {
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
    }

    /** Runs side by side on one target, with the Page baseline, the caps and the Marchenko–Pastur distance (blocking: theory over gRPC). */
    public CompareResponse compare(String caller, List<String> runs, String target, Long step) {
        runs.forEach(run -> requireReadable(run, caller));
        CompareResponse.Builder b = CompareResponse.newBuilder().setTarget(target);
        Map<String, List<ProfileView.Entry>> found = new java.util.LinkedHashMap<>();
        for (String run : runs) found.put(run, view.profile(run, step, target).stream().toList());
        Comparisons.mixedProbeSets(found).ifPresent(why -> {
            throw Status.FAILED_PRECONDITION.withDescription(why).asRuntimeException();
        });
        for (String run : runs) {
            ProfileView.Entry e = found.get(run).isEmpty() ? null : found.get(run).getFirst();
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
    }

    /** The no-hair report over at least two runs at one step (null: each run's latest). */
    public NoHairResponse noHair(String caller, List<String> runs, Long step) {
        if (runs.size() < 2) throw Status.INVALID_ARGUMENT.withDescription("the no-hair report compares at least two runs").asRuntimeException();
        List<Map<String, ProfileView.Entry>> perRun = new ArrayList<>();
        for (String run : runs) {
            ProfileView.Run r = run(caller, run);
            long at = step != null ? step : r.latestStep().orElse(-1L);
            perRun.add(r.profiles(at));
        }
        Map<String, java.util.Collection<ProfileView.Entry>> found = new java.util.LinkedHashMap<>();
        for (int i = 0; i < runs.size(); i++) found.put(runs.get(i), perRun.get(i).values());
        Comparisons.mixedProbeSets(found).ifPresent(why -> {
            throw Status.FAILED_PRECONDITION.withDescription(why).asRuntimeException();
        });
        return NoHairResponse.newBuilder().addAllLayers(Comparisons.noHair(perRun)).build();
    }

    /** A metric of one target against training step. */
    public TimelineResponse timeline(String caller, String run, String target, Metric metric) {
        ProfileView.Run r = run(caller, run);
        TimelineResponse.Builder b = TimelineResponse.newBuilder();
        for (long step : r.steps()) {
            Optional<Double> v = invalidArgument(() -> ProfileMetrics.timelineValue(r, step, target, metric));
            v.ifPresent(x -> b.addPoints(TimelinePoint.newBuilder().setStep(step).setValue(x)));
        }
        return b.build();
    }

    /** Mid-cut S, valley depth and the latest test loss of each run against a hyper-parameter. */
    public SweepResponse sweep(String caller, List<String> runs, String target, SweepAxis by, Long step) {
        SweepResponse.Builder b = SweepResponse.newBuilder();
        for (String run : runs) {
            requireReadable(run, caller);
            ProfileView.Entry e = view.profile(run, step, target).orElse(null);
            if (e == null) continue;
            double x = invalidArgument(() -> ProfileMetrics.axis(e.result().getHyper(), by));
            SweepPoint.Builder p = SweepPoint.newBuilder().setRun(run).setX(x).setMidS(ProfileMetrics.midS(e.profile()))
                    .setValleyDepth(ProfileMetrics.valleyDepth(e.profile()));
            view.run(run).flatMap(r -> r.latestStep().flatMap(r::metrics)).filter(Metrics::hasTestLoss)
                    .ifPresent(m -> p.setTestLoss(m.getTestLoss()));
            b.addPoints(p);
        }
        return b.build();
    }

    /** The Marchenko–Pastur density of a dL × dR cut (paper Fig. 23–24), from the theory service. */
    public MarchenkoPasturResponse marchenkoPastur(long dLeft, long dRight, int points) {
        return theory.marchenkoPastur(dLeft, dRight, points);
    }

    /** Every profile landing for one run from now on (WatchRun); returns the handle that stops it. */
    public Runnable watchRun(String caller, String run, Consumer<RunUpdate> out) {
        requireReadable(run, caller);
        return view.listen(r -> {
            if (!r.getRun().equals(run)) return;
            if (!TenantAccess.owns(caller, r.getTenant())) return;   // a run watched before it existed, then created by another tenant
            ProfileView.Run current = view.run(r.getRun()).orElseThrow();
            for (Profile p : r.getProfilesList()) {
                out.accept(RunUpdate.newBuilder().setRun(r.getRun()).setStep(r.getStep()).setTarget(r.getTarget())
                        .setUnitsDone(current.unitsDone(r.getStep())).setUnitsTotal(current.unitsTotal(r.getStep())).setProfile(p).build());
            }
        });
    }

    /**
     * The caller's runs as they change (the dashboard's live list): first all of them as they are,
     * then, after every result that lands in one of them, that run's summary. Fed by the same view
     * as {@link #watchRun}; returns the handle that stops it.
     */
    public Runnable watchRuns(String caller, Consumer<ListRunsResponse> now, Consumer<RunSummary> out) {
        return view.listen(runs -> {
            ListRunsResponse.Builder b = ListRunsResponse.newBuilder();
            for (ProfileView.Run r : runs) if (readable(r, caller)) b.addRuns(summary(r));
            now.accept(b.build());
        }, r -> view.run(r.getRun()).filter(run -> readable(run, caller) && TenantAccess.owns(caller, r.getTenant()))
                .ifPresent(run -> out.accept(summary(run))));
    }

    private static boolean readable(ProfileView.Run r, String caller) {
        return TenantAccess.owns(caller, r.tenant());
    }

    private void requireReadable(String run, String caller) {
        view.run(run).filter(r -> !readable(r, caller)).ifPresent(r -> {
            throw Status.NOT_FOUND.withDescription("unknown run " + run).asRuntimeException();
        });
    }

    /** A request's bad metric or axis, as INVALID_ARGUMENT. */
    static <T> T invalidArgument(Supplier<T> answer) {
        try {
            return answer.get();
        } catch (IllegalArgumentException e) {
            throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
        }
    }
}
