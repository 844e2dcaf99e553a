package dev.entangle.core.theory;

/**
 * Hard caps on an entanglement entropy: a cut with Schmidt rank at most χ has S ≤ ln χ.
 * LoRA's row/column cut has rank ≤ r (the "entanglement valley", paper Sec. III A); a
 * χ-truncated sweep keeps ≤ χ values per bond (paper Fig. 2); any dL × dR cut ≤ ln min(dL, dR).
 */
public final class EntropyCaps {

    private EntropyCaps() {}

    /** ln r, the LoRA bottleneck at the row/column cut. */
    public static double loraBottleneck(int rank) {
        if (rank < 1) throw new IllegalArgumentException("rank must be positive, got " + rank);
        return Math.log(rank);
    }

    /** ln χ, the plateau of a χ-truncated sweep. */
    public static double bondCap(int chi) {
        if (chi < 1) throw new IllegalArgumentException("bond dimension must be positive, got " + chi);
        return Math.log(chi);
    }

    /** ln min(dL, dR), the maximal entropy of a cut. */
    public static double maximal(long dL, long dR) {
        return Math.log(Math.min(dL, dR));
    }
}
