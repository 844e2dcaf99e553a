package dev.entangle.query.domain;

import dev.entangle.proto.events.v1.CutProfile;
import dev.entangle.proto.events.v1.Hyperparameters;
import dev.entangle.proto.events.v1.Metrics;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.query.v1.Metric;
import dev.entangle.proto.query.v1.SweepAxis;

import java.util.List;
import java.util.Optional;

/** Summary numbers of one profile, as the paper reads them. */
public final class ProfileMetrics {

    private ProfileMetrics() {}

    /** S at the row/column cut (NaN when the profile has none). */
    public static double rowColumnS(Profile p) {
        int rc = p.getRowColumnCut();
        return rc >= 1 && rc <= p.getCutsCount() ? p.getCuts(rc - 1).getEntropy() : Double.NaN;
    }

    /**
     * Valley depth: mean S of the two cuts beside the row/column cut minus S there (paper
     * Appendix X B); positive for LoRA's entanglement valley. NaN when a neighbour is missing.
     */
    public static double valleyDepth(Profile p) {
        int rc = p.getRowColumnCut();
        if (rc < 2 || rc >= p.getCutsCount()) return Double.NaN;
        List<CutProfile> c = p.getCutsList();
        return (c.get(rc - 2).getEntropy() + c.get(rc).getEntropy()) / 2 - c.get(rc - 1).getEntropy();
    }

    /** S at the middle cut (cut ⌈n/2⌉ of n − 1 cuts: the balanced bipartition of a square matrix). */
    public static double midS(Profile p) {
        if (p.getCutsCount() == 0) return Double.NaN;
        return p.getCuts((p.getCutsCount() - 1) / 2).getEntropy();
    }

    public static double maxNormalised(Profile p) {
        return p.getCutsList().stream().mapToDouble(CutProfile::getNormalised).max().orElse(Double.NaN);
    }

    public static double meanNormalised(Profile p) {
        return p.getCutsList().stream().mapToDouble(CutProfile::getNormalised).average().orElse(Double.NaN);
    }

    /**
     * Least-squares slope of S against ln dL over the cuts with dL ≤ dR: about 0 for an area
     * law, about 1 for a volume law (attention sits in between: area law with a log correction).
     */
    public static double areaLawSlope(Profile p) {
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        int n = 0;
        for (CutProfile c : p.getCutsList()) {
            if (c.getDLeft() > c.getDRight()) continue;
            double x = Math.log(c.getDLeft());
            sx += x;
            sy += c.getEntropy();
            sxx += x * x;
            sxy += x * c.getEntropy();
            n++;
        }
        if (n < 2) return Double.NaN;
        double den = n * sxx - sx * sx;
        return den == 0 ? Double.NaN : (n * sxy - sx * sy) / den;
    }

    /** A profile metric (the losses are the trainer's, not a profile's: see {@link #timelineValue}). */
    public static double metric(Profile p, Metric metric) {
        return switch (metric) {
            case MID_S -> midS(p);
            case ROW_COLUMN_S -> rowColumnS(p);
            case VALLEY_DEPTH -> valleyDepth(p);
            case MAX_NORMALISED -> maxNormalised(p);
            case MEAN_NORMALISED -> meanNormalised(p);
            case AREA_LAW_SLOPE -> areaLawSlope(p);
            case TEST_LOSS, TRAIN_LOSS, METRIC_UNSPECIFIED, UNRECOGNIZED -> throw new IllegalArgumentException("unknown metric '" + metric
                    + "' (mid_s, row_column_s, valley_depth, max_normalised, mean_normalised, area_law_slope, test_loss, train_loss)");
        };
    }

    /** A timeline's value at one step of a run: a loss the trainer reported then, or a metric of the target's profile there. */
    public static Optional<Double> timelineValue(ProfileView.Run run, long step, String target, Metric metric) {
        return switch (metric) {
            case TEST_LOSS -> run.metrics(step).filter(Metrics::hasTestLoss).map(Metrics::getTestLoss);
            case TRAIN_LOSS -> run.metrics(step).filter(Metrics::hasTrainLoss).map(Metrics::getTrainLoss);
            default -> Optional.ofNullable(run.profiles(step).get(target)).map(e -> metric(e.profile(), metric));
        };
    }

    /** A run's value on a sweep's axis (NaN where the run does not report that hyper-parameter). */
    public static double axis(Hyperparameters h, SweepAxis axis) {
        return switch (axis) {
            case ALPHA -> h.hasLoraAlpha() ? h.getLoraAlpha() : Double.NaN;
            case R -> h.hasR() ? h.getR() : Double.NaN;
            case LR -> h.hasLearningRate() ? h.getLearningRate() : Double.NaN;
            case CHI -> h.hasBondDim() ? h.getBondDim() : Double.NaN;
            case SWEEP_AXIS_UNSPECIFIED, UNRECOGNIZED -> throw new IllegalArgumentException("sweep by alpha, r, lr or chi, not '" + axis + "'");
        };
    }
}
