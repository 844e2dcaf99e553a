package dev.entangle.core.theory;

import dev.entangle.core.delta.DeltaAssembler;
import dev.entangle.core.profile.EntanglementProfile;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.profile.ProfileOptions;
import dev.entangle.core.spectrum.Entropies;
import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.tensor.Tensorisation;
import dev.entangle.core.tensor.Tensorisation.Cut;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded Monte-Carlo baselines: the mean entanglement profile, and its standard error, of
 * random matrices of a given shape and kind (paper Sec. II C, Fig. 1–2, 12):
 * <ul>
 *   <li>{@code GAUSSIAN}: i.i.d. real N(0, 1) entries (the Page curve up to O(1/d));</li>
 *   <li>{@code HAAR}: i.i.d. complex Gaussian entries, i.e. a Haar-random state, whose mean
 *       is exactly Page's formula;</li>
 *   <li>{@code LORA_INIT}: B·A with B [rows, r] and A [r, cols] Gaussian (Schmidt rank ≤ r at
 *       the row/column cut);</li>
 *   <li>{@code MPS_INIT}: B·A_mps with A_mps[q, i1·d2 + i2] = Σ_c core1[q, c, i1]·core2[c, 0, i2],
 *       Gaussian cores of bond χ, as the MPS adapter is formed.</li>
 * </ul>
 * The same (shape, kind, r, χ, samples, seed) always gives the same numbers.
 */
public final class MonteCarloBaseline {

    public enum Kind { GAUSSIAN, HAAR, LORA_INIT, MPS_INIT }

    public record Request(Kind kind, long rows, long cols, int rank, int chi, int samples, long seed) {
        public Request {
            if (rows < 1 || cols < 1) throw new IllegalArgumentException("shape must be positive, got " + rows + "x" + cols);
            if (rows * cols > 1L << 24) throw new IllegalArgumentException("Monte-Carlo shapes are limited to 2^24 entries, got " + rows + "x" + cols);
            if (samples < 2) throw new IllegalArgumentException("need at least 2 samples for a spread, got " + samples);
            if ((kind == Kind.LORA_INIT || kind == Kind.MPS_INIT) && rank < 1) throw new IllegalArgumentException(kind + " needs a rank r ≥ 1");
            if (kind == Kind.MPS_INIT && chi < 1) throw new IllegalArgumentException("MPS_INIT needs a bond dimension χ ≥ 1");
        }
    }

    /** Per cut (cut k at index k − 1): mean S, its standard error, mean S₂ and its standard error. */
    public record Result(Request request, int[] sites, double[] meanEntropy, double[] standardError,
                         double[] meanRenyi2, double[] standardErrorRenyi2) {}

    private final ProfileCalculator calculator;

    public MonteCarloBaseline(ProfileCalculator calculator) {
        this.calculator = calculator;
    }

    public Result run(Request req) {
        int[] sites = Tensorisation.sites(req.rows(), req.cols());
        List<Cut> cuts = Tensorisation.cuts(sites);
        int n = cuts.size();
        double[] sum = new double[n], sumSq = new double[n], sum2 = new double[n], sumSq2 = new double[n];
        SplittableRandom root = new SplittableRandom(req.seed());
        for (int s = 0; s < req.samples(); s++) {
            SplittableRandom rng = root.split();
            double[][] se = switch (req.kind()) {
                case HAAR -> complexProfile(rng, req.rows(), req.cols(), cuts);
                default -> realProfile(sample(req, rng, calculator.linearAlgebra()), req.rows(), req.cols());
            };
            for (int k = 0; k < n; k++) {
                sum[k] += se[0][k];
                sumSq[k] += se[0][k] * se[0][k];
                sum2[k] += se[1][k];
                sumSq2[k] += se[1][k] * se[1][k];
            }
        }
        int m = req.samples();
        double[] mean = new double[n], err = new double[n], mean2 = new double[n], err2 = new double[n];
        for (int k = 0; k < n; k++) {
            mean[k] = sum[k] / m;
            err[k] = Math.sqrt(Math.max(0, (sumSq[k] - m * mean[k] * mean[k]) / (m - 1)) / m);
            mean2[k] = sum2[k] / m;
            err2[k] = Math.sqrt(Math.max(0, (sumSq2[k] - m * mean2[k] * mean2[k]) / (m - 1)) / m);
        }
        return new Result(req, sites, mean, err, mean2, err2);
    }

    private double[][] realProfile(double[] matrix, long rows, long cols) {
        EntanglementProfile p = calculator.profile(matrix, rows, cols, ProfileOptions.DEFAULT);
        double[] s = p.entropies();
        double[] s2 = new double[s.length];
        for (int k = 0; k < s.length; k++) s2[k] = p.cuts().get(k).renyi().getOrDefault("S2", Double.NaN);
        return new double[][]{s, s2};
    }

    /** A real matrix of the requested kind, row-major. */
    static double[] sample(Request req, SplittableRandom rng, LinearAlgebra la) {
        int rows = (int) req.rows();
        int cols = (int) req.cols();
        return switch (req.kind()) {
            case GAUSSIAN -> gaussian(rng, rows * cols);
            case LORA_INIT -> la.multiply(gaussian(rng, rows * req.rank()), rows, req.rank(), false,
                    gaussian(rng, req.rank() * cols), req.rank(), cols, false);
            case MPS_INIT -> {
                int r = req.rank();
                int chi = req.chi();
                int d1 = splitFactor(cols);
                int d2 = cols / d1;
                double[] core1 = gaussian(rng, r * chi * d1);
                double[] core2 = gaussian(rng, chi * d2);
                double[] a = DeltaAssembler.contractMpsCores(core1, core2, r, chi, d1, d2);
                yield la.multiply(gaussian(rng, rows * r), rows, r, false, a, r, cols, false);
            }
            case HAAR -> throw new IllegalArgumentException("HAAR states are complex");
        };
    }

    /** The largest divisor of n not above √n (the MPS adapter's in_factors split). */
    static int splitFactor(int n) {
        int best = 1;
        for (int d = 1; (long) d * d <= n; d++) if (n % d == 0) best = d;
        return best;
    }

    private static double[] gaussian(SplittableRandom rng, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = rng.nextGaussian();
        return x;
    }

    /**
     * Profile of a complex Gaussian vector: at each cut Z (dL × dR) has the singular values of
     * its real embedding [[Re, −Im], [Im, Re]], each twice; one of each pair is kept.
     */
    private double[][] complexProfile(SplittableRandom rng, long rows, long cols, List<Cut> cuts) {
        int n = (int) (rows * cols);
        double[] re = gaussian(rng, n);
        double[] im = gaussian(rng, n);
        LinearAlgebra la = calculator.linearAlgebra();
        double[] s = new double[cuts.size()];
        double[] s2 = new double[cuts.size()];
        for (int k = 0; k < cuts.size(); k++) {
            int dL = (int) cuts.get(k).dL();
            int dR = (int) cuts.get(k).dR();
            double[] emb = new double[4 * dL * dR];
            int w = 2 * dR;
            for (int i = 0; i < dL; i++)
                for (int j = 0; j < dR; j++) {
                    double x = re[i * dR + j];
                    double y = im[i * dR + j];
                    emb[i * w + j] = x;
                    emb[i * w + dR + j] = -y;
                    emb[(dL + i) * w + j] = y;
                    emb[(dL + i) * w + dR + j] = x;
                }
            boolean left = dL <= dR;
            int side = 2 * Math.min(dL, dR);
            double[] ev = la.symmetricEigenvalues(la.gram(emb, 2 * dL, 2 * dR, left), side);
            double[] half = new double[side / 2];
            for (int i = 0; i < half.length; i++) half[i] = ev[2 * i];   // descending: pairs are adjacent
            double[] p = Entropies.normalise(half);
            s[k] = Entropies.vonNeumann(p);
            s2[k] = Entropies.renyi(p, 2);
        }
        return new double[][]{s, s2};
    }
}
