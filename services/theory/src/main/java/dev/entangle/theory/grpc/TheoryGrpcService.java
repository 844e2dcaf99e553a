package dev.entangle.theory.grpc;

import dev.entangle.core.attention.OutputOperator;
import dev.entangle.theory.domain.MonteCarloCache;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.tensor.Tensorisation;
import dev.entangle.core.theory.AttentionCardy;
import dev.entangle.core.theory.EntropyCaps;
import dev.entangle.core.theory.MarchenkoPastur;
import dev.entangle.core.theory.PageCurve;
import dev.entangle.proto.theory.v1.CapsRequest;
import dev.entangle.proto.theory.v1.CapsResponse;
import dev.entangle.proto.theory.v1.CardyRequest;
import dev.entangle.proto.theory.v1.CardyResponse;
import dev.entangle.proto.theory.v1.CutBaseline;
import dev.entangle.proto.theory.v1.DensityPoint;
import dev.entangle.proto.theory.v1.MarchenkoPasturRequest;
import dev.entangle.proto.theory.v1.MarchenkoPasturResponse;
import dev.entangle.proto.theory.v1.MonteCarloRequest;
import dev.entangle.proto.theory.v1.MonteCarloResponse;
import dev.entangle.proto.theory.v1.MpDistanceRequest;
import dev.entangle.proto.theory.v1.MpDistanceResponse;
import dev.entangle.proto.theory.v1.PageProfileRequest;
import dev.entangle.proto.theory.v1.PageProfileResponse;
import dev.entangle.proto.theory.v1.PageRequest;
import dev.entangle.proto.theory.v1.PageResponse;
import dev.entangle.proto.theory.v1.StableRankRequest;
import dev.entangle.proto.theory.v1.StableRankResponse;
import dev.entangle.proto.theory.v1.Theory;
import io.grpc.Status;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;

import java.util.concurrent.Callable;

/**
 * The Theory gRPC API (proto/entangle/theory/v1/theory.proto) over analysis-core's formulas.
 * Blocking: eigen-solves and Monte-Carlo runs must not hold the event loop.
 */
@GrpcService
@Blocking
public class TheoryGrpcService implements Theory {

    @Inject
    ProfileCalculator calculator;

    @Inject
    MonteCarloCache monteCarlo;

    @Override
    public Uni<PageResponse> page(PageRequest r) {
        return answer(() -> PageResponse.newBuilder().setExact(PageCurve.exact(r.getDLeft(), r.getDRight()))
                .setLeadingOrder(PageCurve.leadingOrder(r.getDLeft(), r.getDRight()))
                .setMaxEntropy(EntropyCaps.maximal(r.getDLeft(), r.getDRight())).build());
    }

    @Override
    public Uni<PageProfileResponse> pageProfile(PageProfileRequest r) {
        return answer(() -> {
            int[] sites = r.getSitesCount() == 0 ? Tensorisation.sites(r.getRows(), r.getCols())
                    : r.getSitesList().stream().mapToInt(Integer::intValue).toArray();
            Tensorisation.checkSites(sites, r.getRows(), r.getCols());
            PageProfileResponse.Builder b = PageProfileResponse.newBuilder();
            for (int s : sites) b.addSites(s);
            for (Tensorisation.Cut c : Tensorisation.cuts(sites)) {
                b.addCuts(CutBaseline.newBuilder().setCut(c.k()).setDLeft(c.dL()).setDRight(c.dR())
                        .setPage(PageCurve.exact(c.dL(), c.dR())).setPageLeading(PageCurve.leadingOrder(c.dL(), c.dR()))
                        .setMpEntropy(MarchenkoPastur.forCut(c.dL(), c.dR()).expectedEntropy(Math.min(c.dL(), c.dR()))));
            }
            return b.build();
        });
    }

    @Override
    public Uni<MarchenkoPasturResponse> marchenkoPastur(MarchenkoPasturRequest r) {
        return answer(() -> {
            requireShape(r.getDLeft(), r.getDRight());
            MarchenkoPastur mp = MarchenkoPastur.forCut(r.getDLeft(), r.getDRight());
            int points = r.getPoints() == 0 ? 64 : r.getPoints();
            if (points < 2 || points > 10_000) throw new IllegalArgumentException("points must be in [2, 10000], got " + points);
            MarchenkoPasturResponse.Builder b = MarchenkoPasturResponse.newBuilder().setAspect(mp.aspect())
                    .setLowerEdge(mp.lowerEdge()).setUpperEdge(mp.upperEdge()).setMass(mp.mass()).setSecondMoment(mp.moment(2))
                    .setExpectedEntropy(mp.expectedEntropy(Math.min(r.getDLeft(), r.getDRight())));
            for (int i = 0; i < points; i++) {
                double x = mp.lowerEdge() + (mp.upperEdge() - mp.lowerEdge()) * i / (points - 1);
                b.addDensity(DensityPoint.newBuilder().setX(x).setDensity(mp.density(x)));
            }
            return b.build();
        });
    }

    @Override
    public Uni<MpDistanceResponse> marchenkoPasturDistance(MpDistanceRequest r) {
        return answer(() -> {
            requireShape(r.getDLeft(), r.getDRight());
            long dMin = Math.min(r.getDLeft(), r.getDRight());
            if (r.getPCount() == 0 || r.getPCount() > dMin) {
                throw new IllegalArgumentException("p must hold 1.." + dMin + " values (the cut's spectrum), got " + r.getPCount());
            }
            double[] p = r.getPList().stream().mapToDouble(Double::doubleValue).toArray();
            var d = MarchenkoPastur.forCut(r.getDLeft(), r.getDRight()).distance(p, dMin);
            return MpDistanceResponse.newBuilder().setKolmogorovSmirnov(d.kolmogorovSmirnov()).setJensenShannon(d.jensenShannon())
                    .setValues(d.values()).build();
        });
    }

    @Override
    public Uni<CardyResponse> cardy(CardyRequest r) {
        return answer(() -> {
            int t = r.getTokens();
            if (t < 2 || (long) t * t != r.getAttentionCount()) {
                throw new IllegalArgumentException("attention must hold tokens² = " + ((long) t * t) + " values, got " + r.getAttentionCount());
            }
            AttentionCardy c = AttentionCardy.of(r.getAttentionList().stream().mapToDouble(Double::doubleValue).toArray(), t,
                    calculator.linearAlgebra());
            return CardyResponse.newBuilder().setSigma2(c.sigma2()).setCharge(c.charge()).setM2Log(c.m2log())
                    .setConstant(c.constant()).setPredictedS(c.predictedEntropy()).setPredictedS2(c.predictedRenyi2())
                    .setLeadingS2(c.leadingRenyi2()).setMeasuredS(c.measuredEntropy()).setMeasuredS2(c.measuredRenyi2()).build();
        });
    }

    @Override
    public Uni<StableRankResponse> stableRank(StableRankRequest r) {
        return answer(() -> {
            int t = r.getTokens();
            double[] eigen;
            if (r.getEigenvaluesCount() > 0) {
                if (r.getEigenvaluesCount() != t) throw new IllegalArgumentException("eigenvalues must hold tokens = " + t + " values");
                eigen = r.getEigenvaluesList().stream().mapToDouble(Double::doubleValue).toArray();
            } else {
                if (r.getWidth() < 1 || (long) t * r.getWidth() != r.getXCount()) {
                    throw new IllegalArgumentException("x must hold tokens × width = " + ((long) t * r.getWidth()) + " values, got " + r.getXCount());
                }
                LinearAlgebra la = calculator.linearAlgebra();
                double[] x = r.getXList().stream().mapToDouble(Double::doubleValue).toArray();
                eigen = la.symmetricEigenvalues(la.gram(x, t, r.getWidth(), true), t);
            }
            if (t < 2) throw new IllegalArgumentException("tokens must be ≥ 2, got " + t);
            OutputOperator o = OutputOperator.of(eigen, t);
            return StableRankResponse.newBuilder().setStableRank(o.stableRank()).setEta(o.eta()).setDelta1(o.delta1())
                    .setDelta(o.delta()).setEntropy(o.entropy()).setRenyi2(o.renyi2()).setEntropyBound(o.entropyBound())
                    .setRenyi2Bound(o.renyi2Bound()).setDelta1Bound(o.delta1CauchySchwarz()).build();
        });
    }

    @Override
    public Uni<CapsResponse> caps(CapsRequest r) {
        return answer(() -> {
            CapsResponse.Builder b = CapsResponse.newBuilder();
            if (r.getRank() > 0) b.setLnR(EntropyCaps.loraBottleneck(r.getRank()));
            if (r.getChi() > 0) b.setLnChi(EntropyCaps.bondCap(r.getChi()));
            if (r.getDLeft() > 0 && r.getDRight() > 0) b.setMaxEntropy(EntropyCaps.maximal(r.getDLeft(), r.getDRight()));
            return b.build();
        });
    }

    @Override
    public Uni<MonteCarloResponse> monteCarlo(MonteCarloRequest r) {
        return answer(() -> monteCarlo.get(r));
    }

    private static void requireShape(long dL, long dR) {
        if (dL < 1 || dR < 1) throw new IllegalArgumentException("d_left and d_right must be positive, got " + dL + " x " + dR);
    }

    /** Bad arguments become INVALID_ARGUMENT with the rule broken; anything else INTERNAL. */
    private static <T> Uni<T> answer(Callable<T> body) {
        try {
            return Uni.createFrom().item(body.call());
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().failure(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
        } catch (Exception e) {
            return Uni.createFrom().failure(Status.INTERNAL.withDescription(e.toString()).withCause(e).asRuntimeException());
        }
    }
}
