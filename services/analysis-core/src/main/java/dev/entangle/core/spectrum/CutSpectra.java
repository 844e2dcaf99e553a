package dev.entangle.core.spectrum;

import dev.entangle.core.engine.LinearAlgebra;

import dev.entangle.core.tensor.Tensorisation;
import dev.entangle.core.tensor.Tensorisation.Cut;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Supplier;

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

    /**
     * For each cut 1..n−1 the eigenvalues of its reduced density matrix, descending, unnormalised.
     *
     * <p>The order of the work is chosen for the engine: the two Gram products and the widest
     * cut's solve (the balanced cut's, most of the time) one after another, each on all the cores
     * the engine has; then the two chains of narrower solves side by side
     * ({@link LinearAlgebra#sideBySide}), on one core each where the engine gains by it.
     */
    public double[][] squaredSingularValues(double[] v, int[] sites) {
        return squaredSingularValues(v, sites, null);
    }

    /**
     * As {@link #squaredSingularValues(double[], int[])}, with the balanced cut's ρ_L and its
     * eigenvalues already in hand ({@code solved}, or null): its Gram product and its solve are
     * not made again, and the cuts left of it are traced out of the given ρ_L.
     */
    public double[][] squaredSingularValues(double[] v, int[] sites, Solved solved) {
        List<Cut> cuts = Tensorisation.cuts(sites);
        if (Tensorisation.size(sites) != v.length) {
            throw new IllegalArgumentException("sites multiply to " + Tensorisation.size(sites) + ", vector has " + v.length);
        }
        double[][] out = new double[cuts.size()][];
        int lastLeft = lastLeftSided(cuts);
        List<Chain> chains = new ArrayList<>(2);
        if (lastLeft >= 0) {
            Cut c = cuts.get(lastLeft);
            double[] rho;
            if (solved != null) {
                solved.check(c);
                rho = solved.rho();
                out[lastLeft] = solved.eigenvalues();
            } else {
                rho = la.gram(v, (int) c.dL(), (int) c.dR(), true);
            }
            chains.add(new Chain(true, lastLeft, rho, (int) c.dL()));
        } else if (solved != null) {
            throw new IllegalArgumentException("cut " + solved.k() + " was solved, but no cut has the smaller side on the left");
        }
        if (lastLeft + 1 < cuts.size()) {
            Cut c = cuts.get(lastLeft + 1);
            chains.add(new Chain(false, lastLeft + 1, la.gram(v, (int) c.dL(), (int) c.dR(), false), (int) c.dR()));
        }
        if (chains.isEmpty()) return out;
        chains.sort(Comparator.comparingInt(Chain::dim).reversed());
        Chain widest = chains.getFirst();
        if (out[widest.cut()] == null) out[widest.cut()] = la.symmetricEigenvalues(widest.rho(), widest.dim());
        List<Supplier<Void>> rest = new ArrayList<>(2);
        Chain after = widest.next(sites, cuts.size());
        // the longer of the two remaining chains first: lanes take pieces in order
        if (chains.size() > 1) rest.add(() -> chains.get(1).solve(la, sites, cuts.size(), out));
        if (after != null) rest.add(() -> after.solve(la, sites, cuts.size(), out));
        int restDim = Math.max(chains.size() > 1 ? chains.get(1).dim() : 0, after != null ? after.dim() : 0);
        if (restDim >= SIDE_BY_SIDE_MIN_DIM) la.sideBySide(rest);
        else rest.forEach(Supplier::get);
        return out;
    }

    /**
     * The narrowest chains worth lanes: below 256 wide a chain's solves take a millisecond or two,
     * less than a process's first group costs to set up (on OpenBLAS two more native bindings and
     * a thread: 13 ms of a 256² profile's 0.35 s, measured).
     */
    static final int SIDE_BY_SIDE_MIN_DIM = 256;

    /**
     * The cuts one Gram product serves, from {@code cut} outwards: leftwards from a ρ_L, each next
     * cut's ρ_L the partial trace of its last site; rightwards from a ρ_R, tracing the first.
     */
    private record Chain(boolean left, int cut, double[] rho, int dim) {

        /** The chain from the next cut outwards, or null where this is the last. */
        Chain next(int[] sites, int cutCount) {
            if (left) {
                if (cut == 0) return null;
                int site = sites[cut]; // site index cut (0-based) is the last site of cut (cut+1)'s left block
                return new Chain(true, cut - 1, traceLastSite(rho, dim, site), dim / site);
            }
            if (cut + 1 >= cutCount) return null;
            int site = sites[cut + 1]; // first site of this cut's right block
            return new Chain(false, cut + 1, traceFirstSite(rho, dim, site), dim / site);
        }

        /** Solves this cut and every one after it into {@code out}. */
        Void solve(LinearAlgebra la, int[] sites, int cutCount, double[][] out) {
            for (Chain c = this; c != null; c = c.next(sites, cutCount)) {
                if (out[c.cut()] == null) out[c.cut()] = la.symmetricEigenvalues(c.rho(), c.dim());
            }
            return null;
        }
    }

    /**
     * The balanced cut k (the last whose left side is the smaller) solved by the caller: its
     * ρ_L = M_k·M_kᵀ (row-major dL × dL) and that matrix's eigenvalues, descending. An attention
     * head's row/column cut is shared so with its Cardy numbers, which reduce the same A·Aᵀ.
     */
    public record Solved(int k, double[] rho, double[] eigenvalues) {
        void check(Cut c) {
            if (c.k() != k) throw new IllegalArgumentException("cut " + k + " was solved, but the balanced cut is " + c.k());
            if (rho.length != c.dL() * c.dL() || eigenvalues.length != c.dL()) {
                throw new IllegalArgumentException("cut " + k + " has dL = " + c.dL() + ", the solved ρ_L has " + rho.length
                        + " values and " + eigenvalues.length + " eigenvalues");
            }
        }
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
