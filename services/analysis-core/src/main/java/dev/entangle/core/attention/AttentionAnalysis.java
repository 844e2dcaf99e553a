package dev.entangle.core.attention;

import dev.entangle.core.profile.EntanglementProfile;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.profile.ProfileOptions;
import dev.entangle.core.engine.LinearAlgebra;
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
    public record Named(String name, EntanglementProfile profile, Map<String, Double> extras, String source,
                        List<String> warnings) {}

    private final ProfileCalculator calculator;

    public AttentionAnalysis(ProfileCalculator calculator) {
        this.calculator = calculator;
    }

    public static String headKey(int layer, int head) { return "layers." + layer + ".head." + head; }

    public static String unmaskedKey(int layer, int head) { return headKey(layer, head) + ".unmasked"; }

    public static String outputKey(int layer) { return "layers." + layer + ".XXt"; }

    /**
     * Every head of a layer: the model's captured attention where the probe has it, else the
     * attention rebuilt from q/k with the probe's mask; with {@code unmasked} also the rebuilt
     * attention without the causal mask (paper Appendix X A).
     */
    public List<Named> heads(AttentionProbe probe, int layer, ProfileOptions options, boolean unmasked) {
        AttentionProbe.Geometry g = probe.geometry();
        int t = g.tokens();
        var captured = probe.capturedAttention(layer);
        double[][] main = captured.orElseGet(() -> probe.rebuiltAttention(layer, g.causal()));
        String source = captured.isPresent() ? "captured" : "rebuilt";
        List<Named> out = new ArrayList<>();
        LinearAlgebra la = calculator.linearAlgebra();
        for (int h = 0; h < g.heads(); h++) {
            EntanglementProfile p = calculator.profile(main[h], t, t, options);
            out.add(new Named(headKey(layer, h), p, cardy(main[h], p, la), source, List.of()));
        }
        if (unmasked && g.causal()) {
            double[][] open = probe.rebuiltAttention(layer, false);
            for (int h = 0; h < g.heads(); h++) {
                EntanglementProfile p = calculator.profile(open[h], t, t, options);
                out.add(new Named(unmaskedKey(layer, h), p, cardy(open[h], p, la), "rebuilt-unmasked", List.of()));
            }
        }
        return out;
    }

    /** O = X Xᵀ of a layer, X = attn_output [T, width], with Lemma II.2's numbers. */
    public Named output(AttentionProbe probe, int layer, ProfileOptions options) {
        int t = probe.geometry().tokens();
        LinearAlgebra la = calculator.linearAlgebra();
        double[] o = la.gram(probe.output(layer), t, probe.outputWidth(layer), true);
        OutputOperator op = OutputOperator.of(la.symmetricEigenvalues(o, t), t);
        Map<String, Double> extras = new LinkedHashMap<>();
        extras.put("stable_rank", op.stableRank());
        extras.put("eta", op.eta());
        extras.put("delta1", op.delta1());
        extras.put("delta", op.delta());
        extras.put("S_rho", op.entropy());
        extras.put("S2_rho", op.renyi2());
        extras.put("S_bound", op.entropyBound());
        extras.put("S2_bound", op.renyi2Bound());
        extras.put("delta1_bound", op.delta1CauchySchwarz());
        return new Named(outputKey(layer), calculator.profile(o, t, t, options), extras, "probe", List.of());
    }

    /**
     * Cardy numbers of a head. S(A) and S₂(A) are its exact profile's row/column cut (dL = T), so
     * A's spectrum is not solved again; a χ-truncated profile or one without S2 measures them anew.
     */
    private static Map<String, Double> cardy(double[] a, EntanglementProfile p, LinearAlgebra la) {
        int t = (int) p.rows();
        var rc = p.rowColumnCut() > 0 ? p.cut(p.rowColumnCut()) : null;
        AttentionCardy c = p.chiMax() == null && rc != null && rc.renyi().containsKey("S2")
                ? AttentionCardy.of(a, t, la, rc.entropy(), rc.renyi("S2"))
                : AttentionCardy.of(a, t, la);
        Map<String, Double> extras = new LinkedHashMap<>();
        extras.put("sigma2", c.sigma2());
        extras.put("cardy_charge", c.charge());
        extras.put("cardy_constant", c.constant());
        extras.put("cardy_S", c.predictedEntropy());
        extras.put("cardy_S2", c.predictedRenyi2());
        extras.put("cardy_S2_leading", c.leadingRenyi2());
        extras.put("S_matrix", c.measuredEntropy());
        extras.put("S2_matrix", c.measuredRenyi2());
        return extras;
    }
}
