package dev.entangle.core.profile;

import dev.entangle.core.delta.DeltaMatrix;
import dev.entangle.core.spectrum.CutSpectra;
import dev.entangle.core.spectrum.LowRankSpectra;
import dev.entangle.core.spectrum.Entropies;
import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.spectrum.MpsSweep;
import dev.entangle.core.engine.Engines;
import dev.entangle.core.tensor.Tensorisation;
import dev.entangle.core.tensor.Tensorisation.Cut;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Entanglement profiles of matrices: exact at every cut, or by a χ-truncated MPS sweep. */
public final class ProfileCalculator {

    /**
     * Eigenvalues below this fraction of the largest are round-off of a Gram eigen-solve
     * (relative accuracy ~ n·ε of λ_max); they do not count towards the numerical rank.
     */
    private static final double RANK_TOLERANCE = 1e-12;

    private final LinearAlgebra la;

    public ProfileCalculator(LinearAlgebra la) {
        this.la = la;
    }

    /** The default calculator: engine from -Dentangle.engine / ENTANGLE_ENGINE, else "auto" (see {@link Engines}). */
    public static ProfileCalculator fromEnvironment() {
        return new ProfileCalculator(Engines.fromEnvironment());
    }

    public LinearAlgebra linearAlgebra() { return la; }

    /**
     * Profile of a weight update: exact profiles of adapter updates run on their factors
     * (problem size (rows + cols)·r instead of rows·cols); everything else on the dense ΔW.
     */
    public EntanglementProfile profile(DeltaMatrix delta, ProfileOptions options) {
        var lr = delta.lowRank();
        if (lr.isPresent() && options.chiMax() == null && delta.rows() > 1 && delta.cols() > 1) {
            DeltaMatrix.LowRank f = lr.get();
            double[][] spectra = new LowRankSpectra(la).squaredSingularValues(f.left(), f.right(), delta.rows(), delta.cols(), f.r());
            int[] sites = Tensorisation.sites(delta.rows(), delta.cols());
            return assemble(delta.rows(), delta.cols(), sites, spectra, new double[spectra.length], options);
        }
        return profile(delta.data(), delta.rows(), delta.cols(), options);
    }

    /** Profile of a row-major rows × cols matrix with the default sites (prime factors, eq. 14). */
    public EntanglementProfile profile(double[] matrix, long rows, long cols, ProfileOptions options) {
        return profile(matrix, rows, cols, Tensorisation.sites(rows, cols), options);
    }

    /** Profile with explicit sites (they must multiply to rows·cols). */
    public EntanglementProfile profile(double[] matrix, long rows, long cols, int[] sites, ProfileOptions options) {
        return profile(matrix, rows, cols, sites, options, null);
    }

    /**
     * The exact profile of a row-major rows × cols matrix (default sites) whose balanced cut the
     * caller has solved already ({@link CutSpectra.Solved}): an attention head's A·Aᵀ, whose one
     * reduction also gives its Cardy numbers.
     */
    public EntanglementProfile profile(double[] matrix, long rows, long cols, ProfileOptions options, CutSpectra.Solved balanced) {
        if (options.chiMax() != null) throw new IllegalArgumentException("a solved cut serves exact profiles, not a χ = " + options.chiMax() + " sweep");
        return profile(matrix, rows, cols, Tensorisation.sites(rows, cols), options, balanced);
    }

    private EntanglementProfile profile(double[] matrix, long rows, long cols, int[] sites, ProfileOptions options, CutSpectra.Solved balanced) {
        Tensorisation.checkSites(sites, rows, cols);
        if (matrix.length != rows * cols) {
            throw new IllegalArgumentException("matrix has " + matrix.length + " values, not " + rows + "x" + cols);
        }
        List<Cut> cuts = Tensorisation.cuts(sites);
        double[][] spectra;
        double[] discarded = new double[cuts.size()];
        if (options.chiMax() == null) {
            spectra = new CutSpectra(la).squaredSingularValues(matrix, sites, balanced);
        } else {
            MpsSweep.Bond[] bonds = new MpsSweep(la).sweep(matrix, sites, options.chiMax());
            spectra = new double[bonds.length][];
            for (int i = 0; i < bonds.length; i++) {
                spectra[i] = bonds[i].keptSquaredSingularValues();
                discarded[i] = bonds[i].discardedWeight();
            }
        }
        return assemble(rows, cols, sites, spectra, discarded, options);
    }

    private static EntanglementProfile assemble(long rows, long cols, int[] sites, double[][] spectra, double[] discarded,
                                                ProfileOptions options) {
        List<Cut> cuts = Tensorisation.cuts(sites);
        List<CutEntropy> out = new ArrayList<>(cuts.size());
        for (int i = 0; i < cuts.size(); i++) {
            out.add(cutEntropy(cuts.get(i), spectra[i], discarded[i], options));
        }
        return new EntanglementProfile(rows, cols, sites, out, options.chiMax(), Tensorisation.rowColumnCut(sites, rows));
    }

    static CutEntropy cutEntropy(Cut cut, double[] squared, double discarded, ProfileOptions options) {
        double[] p = Entropies.normalise(squared);
        double s = Entropies.vonNeumann(p);
        Map<String, Double> renyi = new LinkedHashMap<>();
        for (double a : options.renyiOrders()) renyi.put(ProfileOptions.renyiKey(a), Entropies.renyi(p, a));
        double lnChi = Math.log(cut.chi());
        int rank = 0;
        double max = p.length > 0 ? p[0] : 0;
        for (double x : p) if (x > max * RANK_TOLERANCE) rank++;
        return new CutEntropy(cut.k(), cut.dL(), cut.dR(), s, renyi, lnChi > 0 ? s / lnChi : 0,
                options.keepSpectra() ? p : null, rank, discarded);
    }
}
