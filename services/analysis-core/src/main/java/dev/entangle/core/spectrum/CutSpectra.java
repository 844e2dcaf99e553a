package dev.entangle.core.spectrum;

import dev.entangle.core.engine.LinearAlgebra;

import dev.entangle.core.tensor.Tensorisation;
import dev.entangle.core.tensor.Tensorisation.Cut;

import java.util.List;

/**
 * Exact squared singular values at every cut of a tensorised vector, with two Gram products
 * in all instead of one per cut.
 *
 * <p>At cut k the reduced density matrix of the left block is ρ_L(k) = M_k M_kᵀ (dL × dL), M_k
 * the dL × dR view of the vector. Tracing out site k from ρ_L(k) gives ρ_L(k−1); likewise
 * tracing the first right site out of ρ_R(k) = M_kᵀ M_k gives ρ_R(k+1). So one Gram on each
 * side of the balanced cut serves all cuts, and each cut's eigen-solve runs on the smaller
 * side, min(dL, dR) wide (ρ_L and ρ_R share their non-zero spectrum, paper eq. 18).
 */
public final class CutSpectra {

    private final LinearAlgebra la;

    public CutSpectra(LinearAlgebra la) {
        this.la = la;
    }

    /** For each cut 1..n−1 the eigenvalues of its reduced density matrix, descending, unnormalised. */
    public double[][] squaredSingularValues(double[] v, int[] sites) {
        List<Cut> cuts = Tensorisation.cuts(sites);
        if (Tensorisation.size(sites) != v.length) {
            throw new IllegalArgumentException("sites multiply to " + Tensorisation.size(sites) + ", vector has " + v.length);
        }
        double[][] out = new double[cuts.size()][];
        int lastLeft = lastLeftSided(cuts);

        if (lastLeft >= 0) {
            Cut c = cuts.get(lastLeft);
            double[] rho = la.gram(v, (int) c.dL(), (int) c.dR(), true);
            int dim = (int) c.dL();
            for (int i = lastLeft; i >= 0; i--) {
                out[i] = la.symmetricEigenvalues(rho, dim);
                if (i > 0) {
                    int site = sites[i]; // site index i (0-based) is the last site of cut i+1's left block
                    rho = traceLastSite(rho, dim, site);
                    dim /= site;
                }
            }
        }
        if (lastLeft + 1 < cuts.size()) {
            int first = lastLeft + 1;
            Cut c = cuts.get(first);
            double[] rho = la.gram(v, (int) c.dL(), (int) c.dR(), false);
            int dim = (int) c.dR();
            for (int i = first; i < cuts.size(); i++) {
                out[i] = la.symmetricEigenvalues(rho, dim);
                if (i + 1 < cuts.size()) {
                    int site = sites[i + 1]; // first site of this cut's right block
                    rho = traceFirstSite(rho, dim, site);
                    dim /= site;
                }
            }
        }
        return out;
    }

    /**
     * Index of the last cut whose left side is the smaller one: the balanced cut, whose ρ_L is
     * the one Gram product on the left; the cuts after it take theirs from ρ_R. −1 if none.
     */
    public static int lastLeftSided(List<Cut> cuts) {
        int lastLeft = -1;
        for (int i = 0; i < cuts.size(); i++) if (cuts.get(i).leftIsSmaller()) lastLeft = i;
        return lastLeft;
    }

    /** ρ'[a,b] = Σ_s ρ[a·d+s, b·d+s]: traces out the last (fastest-varying) site of dimension d. */
    static double[] traceLastSite(double[] rho, int dim, int d) {
        int m = dim / d;
        double[] r = new double[m * m];
        for (int a = 0; a < m; a++) {
            for (int b = 0; b < m; b++) {
                double s = 0;
                int base = (a * d) * dim + b * d;
                for (int t = 0; t < d; t++) s += rho[base + t * dim + t];
                r[a * m + b] = s;
            }
        }
        return r;
    }

    /** ρ'[a,b] = Σ_s ρ[s·m+a, s·m+b] with m = dim/d: traces out the first (slowest-varying) site. */
    static double[] traceFirstSite(double[] rho, int dim, int d) {
        int m = dim / d;
        double[] r = new double[m * m];
        for (int t = 0; t < d; t++) {
            int off = t * m;
            for (int a = 0; a < m; a++) {
                int src = (off + a) * dim + off;
                int dst = a * m;
                for (int b = 0; b < m; b++) r[dst + b] += rho[src + b];
            }
        }
        return r;
    }
}
