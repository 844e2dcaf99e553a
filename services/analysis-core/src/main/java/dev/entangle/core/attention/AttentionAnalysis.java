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
import java.util.function.IntFunction;
import java.util.function.Supplier;

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
        AttentionProbe.Geometry g = probe.geometry();
        int t = g.tokens();
        // captured heads are read one at a time as they are profiled; a rebuilt head is rebuilt in its own piece
        boolean captured = probe.hasCapturedAttention(layer);
        IntFunction<double[]> main = captured ? h -> probe.capturedHead(layer, h) : probe.rebuiltLayer(layer, g.causal())::head;
        String source = captured ? "captured" : "rebuilt";
        List<Named> out = new ArrayList<>(profiled(main, g.heads(), t, options, h -> Target.head(layer, h), source));
        if (unmasked && g.causal()) {
            out.addAll(profiled(probe.rebuiltLayer(layer, false)::head, g.heads(), t, options, h -> new Target.Head(layer, h, true), "rebuilt-unmasked"));
        }
        return out;
    }

    /**
     * Each head's profile and Cardy numbers, the heads side by side where the engine gains by it
     * ({@link LinearAlgebra#sideBySide}: a core each, rather than each head's solves on all of
     * them); a rebuilt head is rebuilt in its own piece, so a few T × T matrices live at a time.
     */
    private List<Named> profiled(IntFunction<double[]> attention, int heads, int t, ProfileOptions options, IntFunction<Target> target,
                                 String source) {
        LinearAlgebra la = calculator.linearAlgebra();
        List<Supplier<Named>> work = new ArrayList<>(heads);
        for (int h = 0; h < heads; h++) {
            int head = h;
            work.add(() -> {
                double[] a = attention.apply(head);
                EntanglementProfile p = calculator.profile(a, t, t, options);
                return new Named(target.apply(head), p, cardy(a, p, la), source, List.of());
            });
        }
        return la.sideBySide(work);
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
