package dev.entangle.query.domain;

import dev.entangle.core.profile.Extra;
import dev.entangle.core.profile.Target;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.query.v1.Baselines;
import dev.entangle.proto.query.v1.LayerNoHair;
import dev.entangle.proto.query.v1.RunComparison;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

/** Assembles comparisons and the no-hair report from the view (pure functions, no I/O). */
public final class Comparisons {

    private Comparisons() {}

    /** One run's side of a comparison; {@code page} gives the Page profile for a profile's sites. */
    public static RunComparison run(String run, ProfileView.Entry e, Function<Profile, List<Double>> page) {
        if (e == null) return RunComparison.newBuilder().setRun(run).setFound(false).build();
        ProfileComputed r = e.result();
        Profile p = e.profile();
        Baselines.Builder b = Baselines.newBuilder().addAllPage(page.apply(p));
        Double lnR = Extra.LN_R.in(p.getExtrasMap()).orElse(null);
        if (lnR != null) b.setLnR(lnR);
        else if (r.hasHyper() && r.getHyper().hasR() && r.getHyper().getR() > 0) b.setLnR(Math.log(r.getHyper().getR()));
        int chi = p.getCutsList().stream().mapToInt(c -> c.getDiscardedWeight() > 0 ? c.getBondDim() : 0).max().orElse(0);
        if (chi > 0) b.setLnChiMax(Math.log(chi));
        RunComparison.Builder c = RunComparison.newBuilder().setRun(run).setFound(true).setStep(r.getStep())
                .setMethod(r.getMethod()).setProfile(p).setBaselines(b)
                .setRowColumnS(ProfileMetrics.rowColumnS(p)).setValleyDepth(ProfileMetrics.valleyDepth(p))
                .setMaxNormalised(ProfileMetrics.maxNormalised(p)).setMeanNormalised(ProfileMetrics.meanNormalised(p));
        if (Target.tryParse(p.getName()).orElse(null) instanceof Target.Head) {
            c.setAreaLawSlope(ProfileMetrics.areaLawSlope(p));
            Map<String, Double> x = p.getExtrasMap();
            Extra.CARDY_S.in(x).ifPresent(predicted -> c.setCardyPredictedS(predicted)
                    .setCardyMeasuredS(Extra.S_MATRIX.in(x).orElseThrow()).setCardyCharge(Extra.CARDY_CHARGE.in(x).orElseThrow()));
        }
        if (r.hasHyper()) c.setHyper(r.getHyper());
        if (r.hasMetrics() && r.getMetrics().hasTestLoss()) c.setTestLoss(r.getMetrics().getTestLoss());
        return c.build();
    }

    /**
     * Per layer: the spread across runs of the internal (ΔW) profiles versus the spread of the
     * external (attention heads, XXᵀ) profiles, each the mean over profiles and cuts of the
     * standard deviation of S across runs; ratio = internal / external (paper's no-hair claim:
     * internal structure differs, what the layer does from outside does not).
     */
    public static List<LayerNoHair> noHair(List<Map<String, ProfileView.Entry>> perRun) {
        Map<Integer, double[]> internal = new TreeMap<>(); // layer -> {sum, count}
        Map<Integer, double[]> external = new TreeMap<>();
        if (perRun.size() < 2) return List.of();
        for (String name : perRun.getFirst().keySet()) {
            Target target = Target.tryParse(name).orElse(null);
            if (target == null) continue;
            List<Profile> across = new ArrayList<>();
            for (Map<String, ProfileView.Entry> r : perRun) {
                ProfileView.Entry e = r.get(name);
                if (e != null) across.add(e.profile());
            }
            if (across.size() != perRun.size()) continue;
            int cuts = across.getFirst().getCutsCount();
            if (across.stream().anyMatch(p -> p.getCutsCount() != cuts)) continue;
            double[] acc = (target.external() ? external : internal).computeIfAbsent(target.layer(), k -> new double[2]);
            for (int k = 0; k < cuts; k++) {
                final int cut = k;
                acc[0] += std(across.stream().mapToDouble(p -> p.getCuts(cut).getEntropy()).toArray());
                acc[1] += 1;
            }
        }
        List<LayerNoHair> out = new ArrayList<>();
        for (Map.Entry<Integer, double[]> e : internal.entrySet()) {
            double in = e.getValue()[1] > 0 ? e.getValue()[0] / e.getValue()[1] : Double.NaN;
            double[] ex = external.get(e.getKey());
            double exv = ex != null && ex[1] > 0 ? ex[0] / ex[1] : Double.NaN;
            out.add(LayerNoHair.newBuilder().setLayer(e.getKey()).setInternalSpread(in).setExternalSpread(exv)
                    .setRatio(in / exv).build());
        }
        return out;
    }

    /**
     * Attention and XXᵀ profiles are measured on a probe sequence, and those of different
     * sequences are not comparable: the probe sets (and T) of the given runs' external results
     * when they differ, as one line naming each run's set; empty when they agree (results whose
     * probe names no input_ids carry no set and match any).
     */
    public static Optional<String> mixedProbeSets(Map<String, ? extends Collection<ProfileView.Entry>> byRun) {
        Map<String, String> setOf = new LinkedHashMap<>();
        for (Map.Entry<String, ? extends Collection<ProfileView.Entry>> r : byRun.entrySet()) {
            for (ProfileView.Entry e : r.getValue()) {
                if (e == null || e.result().getProbeSet().isEmpty()) continue;
                if (!Target.tryParse(e.profile().getName()).map(Target::external).orElse(false)) continue;
                setOf.putIfAbsent(r.getKey(), e.result().getProbeSet() + " (T = " + e.result().getProbeTokens() + ")");
            }
        }
        if (setOf.values().stream().distinct().count() <= 1) return Optional.empty();
        StringBuilder line = new StringBuilder("these runs' attention was measured on different probe sequences, which are not comparable: ");
        setOf.forEach((run, set) -> line.append(run).append(" on ").append(set).append("; "));
        line.append("compare runs whose bases share a probe set, or ΔW targets");
        return Optional.of(line.toString());
    }

    /** Sample standard deviation (n − 1). */
    static double std(double[] x) {
        if (x.length < 2) return 0;
        double mean = 0;
        for (double v : x) mean += v;
        mean /= x.length;
        double ss = 0;
        for (double v : x) ss += (v - mean) * (v - mean);
        return Math.sqrt(ss / (x.length - 1));
    }
}
