package dev.entangle.core.profile;

import java.util.Map;

/**
 * One cut of an entanglement profile.
 *
 * @param cut             1-based cut index (first {@code cut} sites on the left)
 * @param dL              left dimension
 * @param dR              right dimension
 * @param entropy         von Neumann S = −Σ p ln p
 * @param renyi           Rényi entropies by key (S2, S3, ...), in the requested order
 * @param normalised      S / ln χ with χ = min(dL, dR)
 * @param spectrum        normalised spectrum p_i (descending), or null when not kept
 * @param bondDimension   Schmidt values kept at this bond (the numerical rank for exact profiles)
 * @param discardedWeight Σ of discarded p at this bond of a χ-truncated sweep; 0 when exact
 */
public record CutEntropy(int cut, long dL, long dR, double entropy, Map<String, Double> renyi,
                         double normalised, double[] spectrum, int bondDimension, double discardedWeight) {

    public double renyi(String key) {
        Double v = renyi.get(key);
        if (v == null) throw new IllegalArgumentException("no Rényi entropy " + key + " in this profile");
        return v;
    }

    public long chi() { return Math.min(dL, dR); }
}
