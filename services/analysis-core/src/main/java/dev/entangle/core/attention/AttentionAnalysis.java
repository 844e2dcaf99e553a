package dev.entangle.core.attention;

import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.profile.EntanglementProfile;
import dev.entangle.core.profile.Extra;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.profile.ProfileOptions;
import dev.entangle.core.profile.Target;
import dev.entangle.core.spectrum.CutSpectra;
import dev.entangle.core.tensor.Tensorisation;
import dev.entangle.core.theory.AttentionCardy;

import java.util.ArrayList;
import java.util.Arrays;
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
        return calculator.linearAlgebra().sideBySide(headPieces(probe, layer, options, unmasked));
    }

    /** Every head and every XXᵀ of a probe, by layer. */
    public record Layers(List<Named> heads, List<Named> outputs) {}

    /**
     * Every layer's heads ({@link #heads}) and XXᵀ ({@link #output}), all in one group side by
     * side ({@link LinearAlgebra#sideBySide}): no lane waits at the end of each layer for the other's
     * last head. The XXᵀ, the longer pieces, go first.
     */
    public Layers layers(AttentionProbe probe, ProfileOptions options, boolean unmasked) {
        int[] layers = probe.layers();
        List<Supplier<Named>> work = new ArrayList<>();
        for (int layer : layers) work.add(() -> output(probe, layer, options));
        for (int layer : layers) work.addAll(headPieces(probe, layer, options, unmasked));
        List<Named> done = calculator.linearAlgebra().sideBySide(work);
        return new Layers(done.subList(layers.length, done.size()), done.subList(0, layers.length));
    }

    /**
     * A layer's heads as pieces of work; captured heads are read one at a time as they are
     * profiled, and a rebuilt layer's q/k are read when its first head is rebuilt.
     */
    private List<Supplier<Named>> headPieces(AttentionProbe probe, int layer, ProfileOptions options, boolean unmasked) {
        AttentionProbe.Geometry g = probe.geometry();
        int t = g.tokens();
        boolean captured = probe.hasCapturedAttention(layer);
        IntFunction<double[]> main = captured ? h -> probe.capturedHead(layer, h) : rebuilt(probe, layer, g.causal());
        List<Supplier<Named>> work = new ArrayList<>(profiled(main, g.heads(), t, options, h -> Target.head(layer, h), captured ? "captured" : "rebuilt"));
        if (unmasked && g.causal()) {
            work.addAll(profiled(rebuilt(probe, layer, false), g.heads(), t, options, h -> new Target.Head(layer, h, true), "rebuilt-unmasked"));
        }
        return work;
    }

    /** A layer's heads rebuilt from q/k, its q/k read once, when the first head asks. */
    private static IntFunction<double[]> rebuilt(AttentionProbe probe, int layer, boolean causal) {
        AttentionRebuild.Layer[] once = new AttentionRebuild.Layer[1];
        return h -> {
            AttentionRebuild.Layer l;
            synchronized (once) {
                if (once[0] == null) once[0] = probe.rebuiltLayer(layer, causal);
                l = once[0];
            }
            return l.head(h);
        };
    }

    /** Each head's profile and Cardy numbers as a piece of work. */
    private List<Supplier<Named>> profiled(IntFunction<double[]> attention, int heads, int t, ProfileOptions options, IntFunction<Target> target,
                                           String source) {
        List<Supplier<Named>> work = new ArrayList<>(heads);
        for (int h = 0; h < heads; h++) {
            int head = h;
            work.add(() -> head(attention.apply(head), t, options, target.apply(head), source));
        }
        return work;
    }

    /**
     * One head's profile and Cardy numbers from its row-major T × T attention. For an exact
     * profile A·Aᵀ is the row/column cut's ρ_L, so its one reduction serves that cut and A⊥'s
     * spectrum ({@link AttentionCardy#spectra}).
     */
    public Named head(double[] a, int t, ProfileOptions options, Target target, String source) {
        LinearAlgebra la = calculator.linearAlgebra();
        int k = sharedCut(t, options);
        if (k <= 0) {
            return new Named(target, calculator.profile(a, t, t, options), cardy(AttentionCardy.of(a, t, la)), source, List.of());
        }
        AttentionCardy.Spectra s = AttentionCardy.spectra(a, t, la);
        EntanglementProfile p = calculator.profile(a, t, t, options, new CutSpectra.Solved(k, s.rho(), s.values()));
        return new Named(target, p, cardy(AttentionCardy.of(t, s)), source, List.of());
    }

    /** O = X Xᵀ of a layer, X = attn_output [T, width], with Lemma II.2's numbers. */
    public Named output(AttentionProbe probe, int layer, ProfileOptions options) {
        int t = probe.geometry().tokens();
        LinearAlgebra la = calculator.linearAlgebra();
        double[] o = la.gram(probe.output(layer), t, probe.outputWidth(layer), true);
        double[] eigenvalues = la.symmetricEigenvalues(o, t);
        OutputOperator op = OutputOperator.of(eigenvalues, t);
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
        return new Named(Target.output(layer), outputProfile(o, t, eigenvalues, options), extras, "probe", List.of());
    }

    /**
     * O's profile. O is symmetric, so its row/column cut's ρ_L = O·Oᵀ = O² has the squares of the
     * eigenvalues just solved: that cut is not solved a second time.
     */
    private EntanglementProfile outputProfile(double[] o, int t, double[] eigenvalues, ProfileOptions options) {
        int k = sharedCut(t, options);
        if (k <= 0) return calculator.profile(o, t, t, options);
        double[] squares = new double[t];
        for (int i = 0; i < t; i++) squares[i] = eigenvalues[i] * eigenvalues[i];
        Arrays.sort(squares);
        double[] descending = new double[t];
        for (int i = 0; i < t; i++) descending[i] = squares[t - 1 - i];
        LinearAlgebra la = calculator.linearAlgebra();
        return calculator.profile(o, t, t, options, new CutSpectra.Solved(k, la.gram(o, t, t, true), descending));
    }

    /**
     * The row/column cut of a T × T matrix, whose solve a head or XXᵀ shares with the profile; 0
     * where there is none to share: a χ-truncated sweep, or T = 1.
     */
    private static int sharedCut(int t, ProfileOptions options) {
        return options.chiMax() != null ? 0 : Math.max(0, Tensorisation.rowColumnCut(Tensorisation.sites(t, t), t));
    }

    /** A head's Cardy numbers as profile extras. */
    private static Map<Extra, Double> cardy(AttentionCardy c) {
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
