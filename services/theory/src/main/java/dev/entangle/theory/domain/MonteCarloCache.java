package dev.entangle.theory.domain;

import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.tensor.Tensorisation;
import dev.entangle.core.theory.MonteCarloBaseline;
import dev.entangle.core.theory.PageCurve;
import dev.entangle.proto.theory.v1.CutStatistics;
import dev.entangle.proto.theory.v1.MonteCarloRequest;
import dev.entangle.proto.theory.v1.MonteCarloResponse;
import dev.entangle.proto.theory.v1.RandomKind;
import dev.entangle.store.Layout;
import dev.entangle.store.ObjectStore;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Monte-Carlo baselines computed once per (shape, kind, r, χ, samples, seed) and cached in
 * the object store: the same request always gives the same numbers, so the cache never goes
 * stale.
 */
@ApplicationScoped
public class MonteCarloCache {

    @Inject
    ObjectStore store;

    @Inject
    ProfileCalculator calculator;

    @Inject
    MeterRegistry meters;

    @ConfigProperty(name = "entangle.theory.monte-carlo.max-work")
    long maxWork;

    public MonteCarloResponse get(MonteCarloRequest req) throws IOException {
        MonteCarloBaseline.Request r = toCore(req);
        if ((double) r.rows() * r.cols() * r.samples() > maxWork) {
            throw new IllegalArgumentException("samples × rows × cols = " + (long) ((double) r.rows() * r.cols() * r.samples())
                    + " exceeds entangle.theory.monte-carlo.max-work = " + maxWork);
        }
        String key = Layout.monteCarlo(r.kind().name(), r.rows(), r.cols(), r.rank(), r.chi(), r.samples(), r.seed());
        Optional<byte[]> hit = store.read(key);
        if (hit.isPresent()) {
            meters.counter("entangle.theory.monte_carlo", "cache", "hit").increment();
            return MonteCarloResponse.parseFrom(hit.get()).toBuilder().setCached(true).build();
        }
        meters.counter("entangle.theory.monte_carlo", "cache", "miss").increment();
        MonteCarloBaseline.Result result = new MonteCarloBaseline(calculator).run(r);
        MonteCarloResponse.Builder b = MonteCarloResponse.newBuilder().setCacheKey(key);
        for (int s : result.sites()) b.addSites(s);
        List<Tensorisation.Cut> cuts = Tensorisation.cuts(result.sites());
        for (int k = 0; k < cuts.size(); k++) {
            Tensorisation.Cut c = cuts.get(k);
            b.addCuts(CutStatistics.newBuilder().setCut(c.k()).setDLeft(c.dL()).setDRight(c.dR())
                    .setMeanS(result.meanEntropy()[k]).setStderrS(result.standardError()[k])
                    .setMeanS2(result.meanRenyi2()[k]).setStderrS2(result.standardErrorRenyi2()[k])
                    .setPage(PageCurve.exact(c.dL(), c.dR())));
        }
        MonteCarloResponse out = b.build();
        store.put(key, out.toByteArray(), "application/x-protobuf");
        return out;
    }

    static MonteCarloBaseline.Request toCore(MonteCarloRequest req) {
        MonteCarloBaseline.Kind kind = switch (req.getKind()) {
            case GAUSSIAN -> MonteCarloBaseline.Kind.GAUSSIAN;
            case HAAR -> MonteCarloBaseline.Kind.HAAR;
            case LORA_INIT -> MonteCarloBaseline.Kind.LORA_INIT;
            case MPS_INIT -> MonteCarloBaseline.Kind.MPS_INIT;
            case RANDOM_KIND_UNSPECIFIED, UNRECOGNIZED -> throw new IllegalArgumentException(
                    "kind must be one of " + List.of(RandomKind.GAUSSIAN, RandomKind.HAAR, RandomKind.LORA_INIT, RandomKind.MPS_INIT));
        };
        return new MonteCarloBaseline.Request(kind, req.getRows(), req.getCols(), req.getRank(), req.getChi(), req.getSamples(), req.getSeed());
    }
}
