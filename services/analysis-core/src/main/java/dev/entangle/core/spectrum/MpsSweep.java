package dev.entangle.core.spectrum;

import dev.entangle.core.engine.LinearAlgebra;

import dev.entangle.core.tensor.Tensorisation;

/**
 * The paper's left-to-right sequential SVD (Appendix VI, eq. 21–26): at bond k the remainder
 * C^(k) with rows (α_{k−1}, i_k) is decomposed as U S V†, U becomes the MPS tensor T[k] and
 * S V† is carried to the next bond. Keeping at most χ_max Schmidt values per bond gives the
 * truncated profile (it plateaus at ln χ_max, paper Fig. 2).
 *
 * <p>The SVD of each remainder is taken through the eigen-decomposition of its smaller Gram
 * matrix. The carried factor needs no division by singular values: for a wide C, S V† = Uᵀ C
 * (U from C Cᵀ); for a tall C, S V† = diag(s) Vᵀ (V from Cᵀ C).
 */
public final class MpsSweep {

    private final LinearAlgebra la;

    public MpsSweep(LinearAlgebra la) {
        this.la = la;
    }

    /** Result per bond: the kept squared singular values (descending) and the discarded weight. */
    public record Bond(double[] keptSquaredSingularValues, double discardedWeight) {}

    public Bond[] sweep(double[] v, int[] sites, int chiMax) {
        if (chiMax < 1) throw new IllegalArgumentException("chi_max must be >= 1, got " + chiMax);
        long total = Tensorisation.size(sites);
        if (total != v.length) throw new IllegalArgumentException("sites multiply to " + total + ", vector has " + v.length);
        Bond[] bonds = new Bond[sites.length - 1];
        double[] c = v;
        int bond = 1;              // α_{k−1} dimension
        long rest = total;         // remaining physical dimension to the right, including site k
        for (int k = 0; k < sites.length - 1; k++) {
            int rows = Math.multiplyExact(bond, sites[k]);
            rest /= sites[k];
            int cols = (int) rest;
            double[] carried;
            double[] kept;
            double all;
            if (rows <= cols) {
                LinearAlgebra.Eigen e = la.symmetricEigen(la.gram(c, rows, cols, true), rows);
                double[] lam = clip(e.values());
                all = sum(lam);
                int keep = keepCount(lam, chiMax);
                kept = java.util.Arrays.copyOf(lam, keep);
                // Uᵀ_keep · C : (keep × rows)·(rows × cols)
                double[] ut = leadingColumnsTransposed(e.vectors(), rows, keep);
                carried = la.multiply(ut, keep, rows, false, c, rows, cols, false);
                bond = keep;
            } else {
                LinearAlgebra.Eigen e = la.symmetricEigen(la.gram(c, rows, cols, false), cols);
                double[] lam = clip(e.values());
                all = sum(lam);
                int keep = keepCount(lam, chiMax);
                kept = java.util.Arrays.copyOf(lam, keep);
                // diag(s)·Vᵀ_keep : keep × cols
                carried = new double[keep * cols];
                for (int i = 0; i < keep; i++) {
                    double s = Math.sqrt(lam[i]);
                    for (int j = 0; j < cols; j++) carried[i * cols + j] = s * e.vectors()[j * cols + i];
                }
                bond = keep;
            }
            double keptSum = sum(kept);
            bonds[k] = new Bond(kept, all > 0 ? Math.max(0, (all - keptSum) / all) : 0);
            c = carried;
        }
        return bonds;
    }

    /** χ_max values, fewer when the spectrum has fewer non-zero entries (never fewer than 1). */
    private static int keepCount(double[] lam, int chiMax) {
        int nonZero = 0;
        double max = lam.length > 0 ? lam[0] : 0;
        for (double x : lam) if (x > max * 1e-300 && x > 0) nonZero++;
        return Math.max(1, Math.min(chiMax, nonZero));
    }

    private static double[] leadingColumnsTransposed(double[] vectors, int n, int keep) {
        double[] t = new double[keep * n];
        for (int i = 0; i < keep; i++) for (int r = 0; r < n; r++) t[i * n + r] = vectors[r * n + i];
        return t;
    }

    private static double[] clip(double[] x) {
        double[] y = x.clone();
        for (int i = 0; i < y.length; i++) if (y[i] < 0) y[i] = 0;
        return y;
    }

    private static double sum(double[] x) {
        double s = 0;
        for (double v : x) s += v;
        return s;
    }
}
