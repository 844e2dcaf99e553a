package dev.entangle.query;

import dev.entangle.proto.events.v1.CutProfile;
import dev.entangle.proto.events.v1.Profile;

import java.util.List;

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

    /** One metric by name (timeline and sweep requests). */
    public static double metric(Profile p, String name) {
        return switch (name) {
            case "mid_s" -> midS(p);
            case "row_column_s" -> rowColumnS(p);
            case "valley_depth" -> valleyDepth(p);
            case "max_normalised" -> maxNormalised(p);
            case "mean_normalised" -> meanNormalised(p);
            case "area_law_slope" -> areaLawSlope(p);
            default -> throw new IllegalArgumentException("unknown metric '" + name
                    + "' (mid_s, row_column_s, valley_depth, max_normalised, mean_normalised, area_law_slope, test_loss, train_loss)");
        };
    }
}
