package dev.entangle.core.spectrum;

import dev.entangle.core.engine.LinearAlgebra;

import dev.entangle.core.tensor.Tensorisation;

/**
 * Exact cut spectra of a low-rank matrix ΔW = L·R (L: rows × r, R: r × cols; LoRA's s·B·A, the
 * MPS adapter's s·B·A_mps) without forming ΔW, on problems of size rows·r and r·cols.
 *
 * <p>At a cut inside the row sites (dL ≤ rows) the column index lies wholly on the right, and
 * ρ_L only sees R through R·Rᵀ: replacing R by any F with F·Fᵀ = R·Rᵀ (here V·Λ^½ from
 * R·Rᵀ = V Λ Vᵀ) leaves every such spectrum unchanged — an isometry on one side does not move
 * the other side's spectrum. So those cuts are the cuts of L·F (rows × r, sites: rows' primes,
 * then r as one site). Symmetrically, cuts inside the column sites are those of G·R with
 * G = Λ^½ Vᵀ from Lᵀ·L (sites: r as one site, then cols' primes). The row/column cut has at
 * most r non-zero values (paper Lemma X.1).
 */
public final class LowRankSpectra {

    private final LinearAlgebra la;

    public LowRankSpectra(LinearAlgebra la) {
        this.la = la;
    }

    /** Spectra at every cut of ΔW's default tensorisation (rows' primes then cols' primes). */
    public double[][] squaredSingularValues(double[] left, double[] right, int rows, int cols, int r) {
        int[] rowSites = Tensorisation.primeFactors(rows);
        int[] colSites = Tensorisation.primeFactors(cols);
        int nRows = rowSites.length;
        int nCols = colSites.length;
        double[][] out = new double[nRows + nCols - 1][];
        CutSpectra cuts = new CutSpectra(la);

        // Row-side cuts 1..nRows: spectra of L·F, F·Fᵀ = R·Rᵀ.
        double[] f = sqrtFactor(la.symmetricEigen(la.gram(right, r, cols, true), r), false);
        double[] lf = la.multiply(left, rows, r, false, f, r, r, false);
        double[][] rowSide = cuts.squaredSingularValues(lf, append(rowSites, r));
        System.arraycopy(rowSide, 0, out, 0, nRows);

        // Column-side cuts nRows+1..: spectra of G·R, Gᵀ·G = Lᵀ·L; its cut 1 is the row/column cut again.
        if (nCols > 1) {
            double[] g = sqrtFactor(la.symmetricEigen(la.gram(left, rows, r, false), r), true);
            double[] gr = la.multiply(g, r, r, false, right, r, cols, false);
            double[][] colSide = cuts.squaredSingularValues(gr, prepend(r, colSites));
            System.arraycopy(colSide, 1, out, nRows, nCols - 1);
        }
        return out;
    }

    /** V·Λ^½ (r × r), or its transpose Λ^½·Vᵀ, from a symmetric eigen-decomposition. */
    private static double[] sqrtFactor(LinearAlgebra.Eigen e, boolean transposed) {
        int n = e.n();
        double[] f = new double[n * n];
        for (int b = 0; b < n; b++) {
            double s = Math.sqrt(Math.max(0, e.values()[b]));
            for (int a = 0; a < n; a++) {
                double v = e.vectors()[a * n + b] * s;
                if (transposed) f[b * n + a] = v;
                else f[a * n + b] = v;
            }
        }
        return f;
    }

    private static int[] append(int[] sites, int last) {
        int[] s = java.util.Arrays.copyOf(sites, sites.length + 1);
        s[sites.length] = last;
        return s;
    }

    private static int[] prepend(int first, int[] sites) {
        int[] s = new int[sites.length + 1];
        s[0] = first;
        System.arraycopy(sites, 0, s, 1, sites.length);
        return s;
    }
}
