package dev.entangle.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.profile.Target;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.core.theory.PageCurve;
import dev.entangle.proto.events.v1.CutProfile;
import dev.entangle.proto.events.v1.Hyperparameters;
import dev.entangle.proto.events.v1.Method;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.query.v1.Baselines;
import dev.entangle.proto.query.v1.CompareRequest;
import dev.entangle.proto.query.v1.CompareResponse;
import dev.entangle.proto.query.v1.GetProfileRequest;
import dev.entangle.proto.query.v1.GetProfileResponse;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunComparison;
import dev.entangle.proto.query.v1.SweepPoint;
import dev.entangle.proto.query.v1.SweepRequest;
import dev.entangle.proto.query.v1.SweepResponse;
import dev.entangle.proto.query.v1.TimelinePoint;
import dev.entangle.proto.query.v1.TimelineRequest;
import dev.entangle.proto.query.v1.TimelineResponse;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A query service on a free port that answers from the fixtures' float64 oracle (step 150 of
 * each run), so the CLI's commands can be checked against known numbers without a stack. It
 * records every request it gets.
 */
final class FakeQuery extends QueryGrpc.QueryImplBase implements AutoCloseable {

    static final long STEP = 150;
    /** Runs it knows, with their method and hyper-parameters. */
    static final Map<String, Hyperparameters> RUNS = Map.of(
            "lora-r16-a16", Hyperparameters.newBuilder().setR(16).setLoraAlpha(16).setLearningRate(2e-4).build(),
            "lora-r16-a256", Hyperparameters.newBuilder().setR(16).setLoraAlpha(256).setLearningRate(2e-4).build(),
            "fft-lr1e-4", Hyperparameters.newBuilder().setLearningRate(1e-4).build());

    final List<Object> requests = new CopyOnWriteArrayList<>();
    private final Server server;

    FakeQuery() throws IOException {
        server = ServerBuilder.forPort(0).addService(this).build().start();
    }

    String endpoint() { return "127.0.0.1:" + server.getPort(); }

    /** The oracle's profile of a target of a run at step 150, as the query service would carry it. */
    static Profile profile(String run, String target) {
        JsonNode oracle = Fixtures.oracle(Fixtures.root().resolve("runs/" + run + "/checkpoint-" + STEP));
        Target t = Target.parse(target);
        String section = t instanceof Target.Delta ? "deltas" : t instanceof Target.Output ? "outputs" : "attention";
        JsonNode o = oracle.get(section).get(target);
        if (o == null) return null;
        Profile.Builder p = Profile.newBuilder().setName(target).addShape(o.get("shape").get(0).longValue()).addShape(o.get("shape").get(1).longValue());
        o.get("sites").forEach(s -> p.addSites(s.intValue()));
        long rows = o.get("shape").get(0).longValue();
        for (JsonNode c : o.get("profile")) {
            long dl = c.get("dL").longValue(), dr = c.get("dR").longValue();
            if (dl == rows) p.setRowColumnCut(c.get("cut").intValue());
            double s = c.get("S").doubleValue();
            p.addCuts(CutProfile.newBuilder().setCut(c.get("cut").intValue()).setDLeft(dl).setDRight(dr).setEntropy(s)
                    .putRenyi("S2", c.get("S2").doubleValue()).setNormalised(s / Math.log(Math.min(dl, dr))));
        }
        return p.build();
    }

    static Method method(String run) { return run.startsWith("fft") ? Method.FFT : Method.LORA; }

    @Override
    public void compare(CompareRequest req, StreamObserver<CompareResponse> out) {
        requests.add(req);
        // as the query service does: a target, or a layer and a module
        String target = req.getTarget().isBlank() ? Target.delta(req.getLayer(), req.getModule()).key() : req.getTarget();
        CompareResponse.Builder b = CompareResponse.newBuilder().setTarget(target);
        for (String run : req.getRunsList()) {
            Profile p = RUNS.containsKey(run) ? profile(run, target) : null;
            if (p == null) {
                b.addRuns(RunComparison.newBuilder().setRun(run).setFound(false));
                continue;
            }
            int[] sites = p.getSitesList().stream().mapToInt(Integer::intValue).toArray();
            Baselines.Builder base = Baselines.newBuilder();
            for (double x : PageCurve.profile(sites)) base.addPage(x);
            Hyperparameters h = RUNS.get(run);
            if (h.hasR()) base.setLnR(Math.log(h.getR()));
            b.addRuns(RunComparison.newBuilder().setRun(run).setFound(true).setStep(STEP).setMethod(method(run)).setHyper(h)
                    .setProfile(p).setBaselines(base).setRowColumnS(p.getCuts(p.getRowColumnCut() - 1).getEntropy()));
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    @Override
    public void getProfile(GetProfileRequest req, StreamObserver<GetProfileResponse> out) {
        requests.add(req);
        Profile p = RUNS.containsKey(req.getRun()) ? profile(req.getRun(), req.getTarget()) : null;
        if (p == null) {
            out.onError(Status.NOT_FOUND.withDescription("no profile " + req.getTarget()).asRuntimeException());
            return;
        }
        out.onNext(GetProfileResponse.newBuilder().setRun(req.getRun()).setStep(STEP).setProfile(p).build());
        out.onCompleted();
    }

    /** Mid-cut S of the target at steps 1, 30 and 150 of the run, from each step's oracle. */
    @Override
    public void timeline(TimelineRequest req, StreamObserver<TimelineResponse> out) {
        requests.add(req);
        TimelineResponse.Builder b = TimelineResponse.newBuilder();
        if (RUNS.containsKey(req.getRun())) {
            for (long step : new long[]{1, 30, 150}) {
                JsonNode o = Fixtures.oracle(Fixtures.root().resolve("runs/" + req.getRun() + "/checkpoint-" + step))
                        .get("deltas").get(req.getTarget()).get("profile");
                b.addPoints(TimelinePoint.newBuilder().setStep(step).setValue(o.get((o.size() - 1) / 2).get("S").doubleValue()));
            }
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    @Override
    public void sweep(SweepRequest req, StreamObserver<SweepResponse> out) {
        requests.add(req);
        SweepResponse.Builder b = SweepResponse.newBuilder();
        for (String run : req.getRunsList()) {
            Profile p = RUNS.containsKey(run) ? profile(run, req.getTarget()) : null;
            if (p == null) continue;
            Hyperparameters h = RUNS.get(run);
            double x = h.hasLoraAlpha() ? h.getLoraAlpha() : Double.NaN;
            b.addPoints(SweepPoint.newBuilder().setRun(run).setX(x).setMidS(p.getCuts((p.getCutsCount() - 1) / 2).getEntropy()));
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    static Path fixture(String run) {
        return Fixtures.root().resolve("runs/" + run + "/checkpoint-" + STEP);
    }

    @Override
    public void close() {
        server.shutdownNow();
    }
}
