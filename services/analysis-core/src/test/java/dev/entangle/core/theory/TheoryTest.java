package dev.entangle.core.theory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.spectrum.Entropies;
import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.core.theory.MonteCarloBaseline.Kind;
import dev.entangle.core.theory.MonteCarloBaseline.Request;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Random-matrix baselines against their closed forms (paper Sec. II C, Appendices VII–VIII). */
class TheoryTest {

    static final ProfileCalculator CALC = ProfileCalculator.fromEnvironment();

    @Test
    void pageExactSmallCasesByHand() {
        // m = 1: a product state, S = 0.
        assertEquals(0, PageCurve.exact(1, 7), 1e-15);
        // 2 × 2: Σ_{k=3}^{4} 1/k − 1/4 = 1/3
        assertEquals(1.0 / 3, PageCurve.exact(2, 2), 1e-15);
        // symmetric in its arguments; the asymptotic branch agrees with the direct sum
        assertEquals(PageCurve.exact(3, 40), PageCurve.exact(40, 3), 0);
        double direct = 0;
        for (long k = 4097; k <= 4096L * 4096; k++) direct += 1.0 / k;
        assertEquals(direct - 4095 / 8192.0, PageCurve.exact(4096, 4096), 1e-11);
        // leading order approaches exact for large n/m
        assertEquals(PageCurve.leadingOrder(16, 1 << 16), PageCurve.exact(16, 1 << 16), 1e-4);
    }

    /** Page's formula is the exact mean over Haar states: Monte-Carlo within 3 standard errors at every cut. */
    @Test
    void pageExactMatchesHaarMonteCarlo() {
        var r = new MonteCarloBaseline(CALC).run(new Request(Kind.HAAR, 12, 8, 0, 0, 400, 7));
        double[] page = PageCurve.profile(r.sites());
        for (int k = 0; k < page.length; k++) {
            double z = Math.abs(r.meanEntropy()[k] - page[k]) / r.standardError()[k];
            assertTrue(z < 3, "cut " + (k + 1) + ": MC " + r.meanEntropy()[k] + " ± " + r.standardError()[k] + " vs Page " + page[k]);
        }
    }

    /** Real Gaussian matrices follow the Page curve up to O(1/d): the fixture's 512² oracle and our own samples. */
    @Test
    void gaussianMatricesFollowPage() throws IOException {
        JsonNode g = JsonMapper.builder().build().readTree(Fixtures.root().resolve("gaussian512_profile.json").toFile());
        for (JsonNode c : g.get("profile")) {
            double page = PageCurve.exact(c.get("dL").longValue(), c.get("dR").longValue());
            assertEquals(page, c.get("S").doubleValue(), 2e-3, "512² oracle cut " + c.get("cut"));
        }
        var r = new MonteCarloBaseline(CALC).run(new Request(Kind.GAUSSIAN, 64, 64, 0, 0, 8, 11));
        double[] page = PageCurve.profile(r.sites());
        for (int k = 0; k < page.length; k++) {
            assertEquals(page[k], r.meanEntropy()[k], 0.02, "64² Gaussian mean, cut " + (k + 1));
        }
    }

    @Test
    void monteCarloIsSeededAndLoraIsCapped() {
        MonteCarloBaseline mc = new MonteCarloBaseline(CALC);
        var a = mc.run(new Request(Kind.LORA_INIT, 64, 32, 4, 0, 5, 3));
        var b = mc.run(new Request(Kind.LORA_INIT, 64, 32, 4, 0, 5, 3));
        assertArrayEquals(a.meanEntropy(), b.meanEntropy(), 0);
        int rowCut = 6; // 64 = 2^6
        assertTrue(a.meanEntropy()[rowCut - 1] <= Math.log(4) + 1e-9, "ln r cap at the row/column cut");
        assertTrue(a.meanEntropy()[rowCut - 2] > a.meanEntropy()[rowCut - 1], "valley at the row/column cut");
        var m = mc.run(new Request(Kind.MPS_INIT, 64, 32, 4, 2, 5, 3));
        assertTrue(m.meanEntropy()[rowCut - 1] <= Math.log(4) + 1e-9);
    }

    @Test
    void marchenkoPasturIsNormalisedWithSecondMoment() {
        for (double c : new double[]{1, 0.5, 0.125, 1.0 / 64}) {
            MarchenkoPastur mp = new MarchenkoPastur(c);
            assertEquals(1, mp.mass(), 1e-6, "mass, c=" + c);
            assertEquals(1, mp.moment(1), 1e-6, "mean, c=" + c);
            assertEquals(1 + c, mp.moment(2), 1e-6, "second moment, c=" + c);
        }
        // square case: E[x ln x] = 1/2, so the expected entropy is Page's ln d − 1/2
        assertEquals(Math.log(512) - 0.5, new MarchenkoPastur(1).expectedEntropy(512), 1e-5);
        assertEquals(PageCurve.exact(256, 1024), MarchenkoPastur.forCut(256, 1024).expectedEntropy(256), 2e-3);
    }

    @Test
    void marchenkoPasturDistanceSeparatesGaussianFromLowRank() {
        LinearAlgebra la = CALC.linearAlgebra();
        SplittableRandom rng = new SplittableRandom(5);
        int n = 256;
        double[] x = new double[n * n];
        for (int i = 0; i < x.length; i++) x[i] = rng.nextGaussian();
        double[] p = Entropies.normalise(la.symmetricEigenvalues(la.gram(x, n, n, true), n));
        var gauss = MarchenkoPastur.forCut(n, n).distance(p, n);
        double[] low = new double[n];
        for (int i = 0; i < 8; i++) low[i] = 1.0 / 8;
        var lora = MarchenkoPastur.forCut(n, n).distance(low, n);
        assertTrue(gauss.kolmogorovSmirnov() < 0.05, "Gaussian KS " + gauss);
        assertTrue(gauss.jensenShannon() < 0.02, "Gaussian JS " + gauss);
        assertTrue(lora.kolmogorovSmirnov() > 0.9, "rank-8 KS " + lora);
        assertTrue(lora.jensenShannon() > 0.2, "rank-8 JS " + lora);
    }

    /**
     * Isotropic model (i.i.d. logits of variance β²): σ² converges to e^{β²} − 1, the finite-T
     * formula tracks the measurement, and S(A) grows like σ²/(1+σ²)·ln T (Theorem II.1): each
     * doubling of T adds ≈ σ²/(1+σ²)·ln 2 to the seed-averaged S(A), as the finite-T formula predicts.
     */
    @Test
    void cardyFormulaOnIsotropicAttention() {
        LinearAlgebra la = CALC.linearAlgebra();
        double beta = 1.0;
        int[] ts = {128, 256, 512, 1024};
        int seeds = 3;
        double[] lnT = new double[ts.length];
        double[] meanS = new double[ts.length];
        double[] meanPred = new double[ts.length];
        double charge = 0;
        double prevLeadingGap = Double.POSITIVE_INFINITY;
        for (int i = 0; i < ts.length; i++) {
            int t = ts[i];
            double leadingGap = 0;
            for (int seed = 0; seed < seeds; seed++) {
                AttentionCardy c = AttentionCardy.of(isotropic(t, beta, new SplittableRandom(31L * t + seed)), t, la);
                assertEquals(Math.expm1(beta * beta), c.sigma2(), 0.15 * Math.expm1(beta * beta), "σ² at T=" + t);
                assertEquals(c.measuredEntropy(), c.predictedEntropy(), 0.03, "S(A) at T=" + t + ": " + c);
                assertEquals(c.measuredRenyi2(), c.predictedRenyi2(), 0.03, "S2(A) at T=" + t + ": " + c);
                meanS[i] += c.measuredEntropy() / seeds;
                meanPred[i] += c.predictedEntropy() / seeds;
                leadingGap += Math.abs(c.leadingRenyi2() - c.measuredRenyi2()) / seeds;
                if (t == ts[ts.length - 1]) charge += c.charge() / seeds;
            }
            assertTrue(leadingGap < prevLeadingGap, "leading-order S2 converges as T grows");
            prevLeadingGap = leadingGap;
            lnT[i] = Math.log(t);
        }
        for (int i = 1; i < ts.length; i++) {
            double measured = meanS[i] - meanS[i - 1];
            double predicted = meanPred[i] - meanPred[i - 1];
            // measured (seed means): 0.461, 0.505, 0.464 vs the finite-T formula's 0.453, 0.500, 0.461 and
            // charge·ln 2 = 0.436; the excess is the finite-size drift of σ² and m2log towards their limits.
            assertEquals(predicted, measured, 0.015, "S(A) increment T/2 → " + ts[i] + " vs the finite-T Cardy formula");
            assertEquals(charge * Math.log(2), measured, 0.08, "S(A) increment T/2 → " + ts[i] + " vs σ²/(1+σ²)·ln 2");
        }
        double mx = 0, my = 0;
        for (int i = 0; i < ts.length; i++) { mx += lnT[i] / ts.length; my += meanS[i] / ts.length; }
        double sxy = 0, sxx = 0;
        for (int i = 0; i < ts.length; i++) { sxy += (lnT[i] - mx) * (meanS[i] - my); sxx += (lnT[i] - mx) * (lnT[i] - mx); }
        double slope = sxy / sxx;
        assertEquals(charge, slope, 0.1, "dS/d ln T vs the effective attention charge σ²/(1+σ²)");
        assertTrue(slope < 0.9, "area law with log correction, not a volume law (slope 1)");
    }

    /**
     * A head's shared reduction against the definition: A's spectrum is that of A·Aᵀ, the bulk
     * that of (A − 11ᵀ/T)(A − 11ᵀ/T)ᵀ solved on its own, and σ² = ‖A − 11ᵀ/T‖²_F. With rows that
     * miss 1 by float32-sized amounts, A⊥ is A less each row's own mean.
     */
    @Test
    void cardySpectraEqualTheirDefinition() {
        LinearAlgebra la = CALC.linearAlgebra();
        int t = 96;
        double[] a = isotropic(t, 1.2, new SplittableRandom(3));
        check(la, a, t);
        SplittableRandom rng = new SplittableRandom(4);
        for (int i = 0; i < a.length; i++) a[i] *= 1 + 1e-7 * rng.nextGaussian();
        check(la, a, t);
    }

    private static void check(LinearAlgebra la, double[] a, int t) {
        double[] perp = new double[a.length];
        double sigma2 = 0;
        for (int i = 0; i < t; i++) {
            double mean = 0;
            for (int j = 0; j < t; j++) mean += a[i * t + j] / t;
            for (int j = 0; j < t; j++) {
                perp[i * t + j] = a[i * t + j] - mean;
                sigma2 += perp[i * t + j] * perp[i * t + j];
            }
        }
        AttentionCardy.Spectra s = AttentionCardy.spectra(a, t, la);
        double[] values = la.symmetricEigenvalues(la.gram(a, t, t, true), t);
        double[] bulk = la.symmetricEigenvalues(la.gram(perp, t, t, true), t);
        assertArrayEquals(values, s.values(), 1e-13);
        assertArrayEquals(bulk, s.bulk(), 1e-13);
        assertEquals(sigma2, s.sigma2(), 1e-12 * sigma2);
        AttentionCardy c = AttentionCardy.of(t, s);
        double[] p = Entropies.normalise(values);
        assertEquals(Entropies.vonNeumann(p), c.measuredEntropy(), 1e-12);
        assertEquals(Entropies.renyi(p, 2), c.measuredRenyi2(), 1e-12);
    }

    static double[] isotropic(int t, double beta, SplittableRandom rng) {
        double[] a = new double[t * t];
        for (int i = 0; i < t; i++) {
            double sum = 0;
            for (int j = 0; j < t; j++) {
                a[i * t + j] = Math.exp(beta * rng.nextGaussian());
                sum += a[i * t + j];
            }
            for (int j = 0; j < t; j++) a[i * t + j] /= sum;
        }
        return a;
    }

    @Test
    void capsAreLogs() {
        assertEquals(Math.log(16), EntropyCaps.loraBottleneck(16), 0);
        assertEquals(Math.log(32), EntropyCaps.bondCap(32), 0);
        assertEquals(Math.log(8), EntropyCaps.maximal(8, 1 << 20), 0);
    }
}
