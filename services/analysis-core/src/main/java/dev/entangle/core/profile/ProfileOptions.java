package dev.entangle.core.profile;

import java.util.Arrays;

/**
 * What to compute for a profile: Rényi orders besides von Neumann, an optional χ_max for the
 * truncated MPS sweep (null: exact spectra at every cut), and whether to keep the per-cut
 * spectra (paper Fig. 22).
 */
public record ProfileOptions(double[] renyiOrders, Integer chiMax, boolean keepSpectra) {

    public static final ProfileOptions DEFAULT = new ProfileOptions(new double[]{2}, null, false);

    public ProfileOptions {
        renyiOrders = renyiOrders == null ? new double[]{2} : renyiOrders.clone();
        for (double a : renyiOrders) {
            if (!(a >= 0) || a == 1) throw new IllegalArgumentException("Rényi order must be >= 0 and != 1 (that is S), got " + a);
        }
        if (chiMax != null && chiMax < 1) throw new IllegalArgumentException("chi_max must be >= 1, got " + chiMax);
    }

    @Override
    public double[] renyiOrders() { return renyiOrders.clone(); }

    public ProfileOptions withChiMax(Integer chi) { return new ProfileOptions(renyiOrders, chi, keepSpectra); }

    public ProfileOptions withSpectra(boolean keep) { return new ProfileOptions(renyiOrders, chiMax, keep); }

    /** The JSON/field name of a Rényi order: S2, S3, S0.5, Sinf. */
    public static String renyiKey(double alpha) {
        if (Double.isInfinite(alpha)) return "Sinf";
        if (alpha == Math.rint(alpha)) return "S" + (long) alpha;
        return "S" + alpha;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProfileOptions p && Arrays.equals(p.renyiOrders, renyiOrders)
                && java.util.Objects.equals(p.chiMax, chiMax) && p.keepSpectra == keepSpectra;
    }

    @Override
    public int hashCode() { return Arrays.hashCode(renyiOrders) * 31 + java.util.Objects.hashCode(chiMax); }

    @Override
    public String toString() {
        return "ProfileOptions[renyi=" + Arrays.toString(renyiOrders) + ", chiMax=" + chiMax + ", spectra=" + keepSpectra + "]";
    }
}
