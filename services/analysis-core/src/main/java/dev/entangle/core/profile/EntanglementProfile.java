package dev.entangle.core.profile;

import java.util.List;

/**
 * The entanglement profile k ↦ S_k of one matrix.
 *
 * @param rows          matrix rows (out features for a ΔW)
 * @param cols          matrix columns
 * @param sites         MPS site dimensions
 * @param cuts          one entry per cut 1..n−1
 * @param chiMax        χ_max of a truncated sweep, or null for the exact profile
 * @param rowColumnCut  the cut with dL = rows, or −1
 */
public record EntanglementProfile(long rows, long cols, int[] sites, List<CutEntropy> cuts, Integer chiMax,
                                  int rowColumnCut) {

    public EntanglementProfile {
        sites = sites.clone();
        cuts = List.copyOf(cuts);
    }

    @Override
    public int[] sites() { return sites.clone(); }

    public CutEntropy cut(int k) { return cuts.get(k - 1); }

    public double[] entropies() { return cuts.stream().mapToDouble(CutEntropy::entropy).toArray(); }
}
