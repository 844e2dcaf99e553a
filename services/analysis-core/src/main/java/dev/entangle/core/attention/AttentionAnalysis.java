package dev.entangle.core.attention;

import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.profile.EntanglementProfile;
import dev.entangle.core.profile.Extra;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.profile.ProfileOptions;
import dev.entangle.core.profile.Target;
import dev.entangle.core.theory.AttentionCardy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The external side of the no-hair comparison (paper Sec. II C, Appendix X): per layer, the
 * profile of every head's attention matrix A_h (T × T) with its Cardy numbers, and the profile
 * of the output operator O = X Xᵀ with its stable-rank bound (Lemma II.2).
 */
public final class AttentionAnalysis {

    /** One named profile with scalar extras (theory numbers) and warnings. */
    public record Named(Target target, EntanglementProfile profile, Map<Extra, Double> extras, String source,
                        List<String> warnings) {
        /** The target's name. */
        public String name() { return target.key(); }
    }

    private final ProfileCalculator calculator;

    public AttentionAnalysis(ProfileCalculator calculator) {
        this.calculator = calculator;
    }

    /**
     * Every head of a layer: the model's captured attention where the probe has it, else the
     * attention rebuilt from q/k with the probe's mask; with {@code unmasked} also the rebuilt
     * attention without the causal mask (paper Appendix X A).
     */
    public List<Named> heads(AttentionProbe probe, int layer, ProfileOptions options, boolean unmasked) {
        return heads(probe, layer, options, unmasked, 1);
    }

    /**
     * As {@link #heads(AttentionProbe, int, ProfileOptions, boolean)}, {@code workers} heads at a
     * time (the engine must take concurrent calls, as every engine here does; each call's own
     * threads are the caller's to share out), results in head order.
     */
    public List<Named> heads(AttentionProbe probe, int layer, ProfileOptions options, boolean unmasked, int workers) {
        AttentionProbe.Geometry g = probe.geometry();
        int t = g.tokens();
        boolean captured = probe.hasCapturedAttention(layer);
        // captured heads are read one at a time as they are profiled; a rebuild makes every head at once
        double[][] rebuilt = captured ? null : probe.rebuiltAttention(layer, g.causal());
        String source = captured ? "captured" : "rebuilt";
        List<Named> out = new ArrayList<>(each(g.heads(), workers, h -> head(new Target.Head(layer, h, false),
                captured ? probe.capturedHead(layer, h) : take(rebuilt, h), t, options, source)));
        if (unmasked && g.causal()) {
            double[][] open = probe.rebuiltAttention(layer, false);
            out.addAll(each(g.heads(), workers, h -> head(new Target.Head(layer, h, true), take(open, h), t, options, "rebuilt-unmasked")));
        }
        return out;
    }

    /** Head h's matrix, let go of by the array: once profiled its T² doubles may be collected. */
    private static double[] take(double[][] heads, int h) {
        double[] a = heads[h];
        heads[h] = null;
        return a;
    }

    private Named head(Target.Head target, double[] a, int t, ProfileOptions options, String source) {
        EntanglementProfile p = calculator.profile(a, t, t, options);
        return new Named(target, p, cardy(a, p, calculator.linearAlgebra()), source, List.of());
    }

    /** f(0..n−1) in order, {@code workers} at a time. */
    private static List<Named> each(int n, int workers, java.util.function.IntFunction<Named> f) {
        if (workers <= 1 || n <= 1) return java.util.stream.IntStream.range(0, n).mapToObj(f).toList();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(Math.min(workers, n))) {
            List<java.util.concurrent.Future<Named>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int k = i;
                futures.add(pool.submit(() -> f.apply(k)));
            }
            List<Named> out = new ArrayList<>(n);
            for (var fu : futures) out.add(fu.get());
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while profiling attention heads", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        }
    }

    /** O = X Xᵀ of a layer, X = attn_output [T, width], with Lemma II.2's numbers. */
    public Named output(AttentionProbe probe, int layer, ProfileOptions options) {
        int t = probe.geometry().tokens();
        LinearAlgebra la = calculator.linearAlgebra();
        double[] o = la.gram(probe.output(layer), t, probe.outputWidth(layer), true);
        OutputOperator op = OutputOperator.of(la.symmetricEigenvalues(o, t), t);
        Map<Extra, Double> extras = new LinkedHashMap<>();
        extras.put(Extra.STABLE_RANK, op.stableRank());
        extras.put(Extra.ETA, op.eta());
        extras.put(Extra.DELTA1, op.delta1());
        extras.put(Extra.DELTA, op.delta());
        extras.put(Extra.S_RHO, op.entropy());
        extras.put(Extra.S2_RHO, op.renyi2());
        extras.put(Extra.S_BOUND, op.entropyBound());
        extras.put(Extra.S2_BOUND, op.renyi2Bound());
        extras.put(Extra.DELTA1_BOUND, op.delta1CauchySchwarz());
        return new Named(Target.output(layer), calculator.profile(o, t, t, options), extras, "probe", List.of());
    }

    /**
     * Cardy numbers of a head. S(A) and S₂(A) are its exact profile's row/column cut (dL = T), so
     * A's spectrum is not solved again; a χ-truncated profile or one without S2 measures them anew.
     */
    private static Map<Extra, Double> cardy(double[] a, EntanglementProfile p, LinearAlgebra la) {
        int t = (int) p.rows();
        var rc = p.rowColumnCut() > 0 ? p.cut(p.rowColumnCut()) : null;
        AttentionCardy c = p.chiMax() == null && rc != null && rc.renyi().containsKey("S2")
                ? AttentionCardy.of(a, t, la, rc.entropy(), rc.renyi("S2"))
                : AttentionCardy.of(a, t, la);
        Map<Extra, Double> extras = new LinkedHashMap<>();
        extras.put(Extra.SIGMA2, c.sigma2());
        extras.put(Extra.CARDY_CHARGE, c.charge());
        extras.put(Extra.CARDY_CONSTANT, c.constant());
        extras.put(Extra.CARDY_S, c.predictedEntropy());
        extras.put(Extra.CARDY_S2, c.predictedRenyi2());
        extras.put(Extra.CARDY_S2_LEADING, c.leadingRenyi2());
        extras.put(Extra.S_MATRIX, c.measuredEntropy());
        extras.put(Extra.S2_MATRIX, c.measuredRenyi2());
        return extras;
    }
}
