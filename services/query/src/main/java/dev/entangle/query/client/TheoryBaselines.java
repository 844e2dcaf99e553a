package dev.entangle.query.client;

import dev.entangle.core.theory.PageCurve;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.theory.v1.CutBaseline;
import dev.entangle.proto.theory.v1.MarchenkoPasturRequest;
import dev.entangle.proto.theory.v1.MarchenkoPasturResponse;
import dev.entangle.proto.theory.v1.PageProfileRequest;
import dev.entangle.proto.theory.v1.TheoryGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcClient;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Page baselines for a profile's shape and sites, from the theory service over gRPC (cached:
 * a shape's Page profile never changes). If the theory service cannot be reached the same
 * closed form is evaluated here from analysis-core, so a comparison never fails for it.
 */
@ApplicationScoped
public class TheoryBaselines {

    private static final Logger LOG = Logger.getLogger(TheoryBaselines.class);

    @GrpcClient("theory")
    TheoryGrpc.TheoryBlockingStub theory;

    private final Map<String, List<Double>> cache = new ConcurrentHashMap<>();

    public List<Double> page(Profile p) {
        if (p.getShapeCount() != 2) return List.of();
        String key = p.getShape(0) + "x" + p.getShape(1) + ":" + p.getSitesList();
        return cache.computeIfAbsent(key, k -> fetch(p));
    }

    /**
     * KS and Jensen–Shannon distance of the row/column cut's spectrum from Marchenko–Pastur,
     * computed by the theory service; null when the theory service cannot be reached.
     */
    public dev.entangle.proto.theory.v1.MpDistanceResponse mpDistance(Profile p, double[] spectrum) {
        int rc = p.getRowColumnCut();
        if (rc < 1 || rc > p.getCutsCount() || spectrum == null || spectrum.length == 0) return null;
        var cut = p.getCuts(rc - 1);
        var req = dev.entangle.proto.theory.v1.MpDistanceRequest.newBuilder().setDLeft(cut.getDLeft()).setDRight(cut.getDRight());
        for (double x : spectrum) req.addP(x);
        try {
            return theory.withDeadlineAfter(10, TimeUnit.SECONDS).marchenkoPasturDistance(req.build());
        } catch (StatusRuntimeException e) {
            LOG.warnf("theory service unavailable (%s): no Marchenko–Pastur distance", e.getStatus().getCode());
            return null;
        }
    }

    /**
     * The Marchenko–Pastur density of a dL × dR cut, sampled at {@code points} values of x = d_min·λ
     * on [a, b], with its edges and expected entropy (paper Fig. 23–24), from the theory service.
     */
    public MarchenkoPasturResponse marchenkoPastur(long dLeft, long dRight, int points) {
        try {
            return theory.withDeadlineAfter(10, TimeUnit.SECONDS).marchenkoPastur(MarchenkoPasturRequest.newBuilder()
                    .setDLeft(dLeft).setDRight(dRight).setPoints(points).build());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT) throw e;   // the request's cut or points, said by the theory service
            throw Status.UNAVAILABLE.withDescription("theory service: " + e.getStatus().getCode()
                    + (e.getStatus().getDescription() != null ? " " + e.getStatus().getDescription() : "") + " (no Marchenko–Pastur density)").asRuntimeException();
        }
    }

    private List<Double> fetch(Profile p) {
        try {
            return theory.withDeadlineAfter(5, TimeUnit.SECONDS).pageProfile(PageProfileRequest.newBuilder()
                    .setRows(p.getShape(0)).setCols(p.getShape(1)).addAllSites(p.getSitesList()).build())
                    .getCutsList().stream().map(CutBaseline::getPage).toList();
        } catch (StatusRuntimeException e) {
            LOG.warnf("theory service unavailable (%s): Page baseline evaluated locally", e.getStatus().getCode());
            int[] sites = p.getSitesList().stream().mapToInt(Integer::intValue).toArray();
            return java.util.Arrays.stream(PageCurve.profile(sites)).boxed().toList();
        }
    }
}
