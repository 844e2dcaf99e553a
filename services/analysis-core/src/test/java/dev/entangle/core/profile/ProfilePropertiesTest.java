package dev.entangle.core.profile;

import dev.entangle.core.delta.DeltaMatrix;
import dev.entangle.core.spectrum.Entropies;
import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.tensor.Tensorisation;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProfilePropertiesTest {

    static final ProfileCalculator CALC = ProfileCalculator.fromEnvironment();
    static final LinearAlgebra LA = CALC.linearAlgebra();

    static double[] gaussian(Random rnd, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = rnd.nextGaussian();
        return x;
    }

    @Test
    void tensorisationFollowsPrimeFactorsOfRowsThenColumns() {
        assertArrayEquals(new int[]{2, 2, 3, 2, 3, 3}, Tensorisation.sites(12, 18));
        assertArrayEquals(new int[]{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, Tensorisation.sites(64, 256));
        assertArrayEquals(new int[]{7, 2, 5}, Tensorisation.sites(7, 10));
        List<Tensorisation.Cut> cuts = Tensorisation.cuts(new int[]{2, 2, 3, 2, 3, 3});
        assertEquals(new Tensorisation.Cut(3, 12, 18), cuts.get(2));
        assertEquals(3, Tensorisation.rowColumnCut(Tensorisation.sites(12, 18), 12));
    }

    /** Two Gram products and partial traces give the same spectra as one Gram per cut. */
    @Test
    void partialTracesEqualDirectGramAtEveryCut() {
        Random rnd = new Random(7);
        for (int[] shape : new int[][]{{12, 18}, {64, 256}, {30, 7}, {256, 64}}) {
            double[] m = gaussian(rnd, shape[0] * shape[1]);
            int[] sites = Tensorisation.sites(shape[0], shape[1]);
            EntanglementProfile p = CALC.profile(m, shape[0], shape[1], ProfileOptions.DEFAULT.withSpectra(true));
            for (Tensorisation.Cut c : Tensorisation.cuts(sites)) {
                boolean left = c.dL() <= c.dR();
                double[] g = LA.gram(m, (int) c.dL(), (int) c.dR(), left);
                double[] direct = Entropies.normalise(LA.symmetricEigenvalues(g, (int) Math.min(c.dL(), c.dR())));
                double[] got = p.cut(c.k()).spectrum();
                assertEquals(direct.length, got.length);
                for (int i = 0; i < got.length; i++) assertEquals(direct[i], got[i], 1e-13, "cut " + c + " value " + i);
                assertEquals(Entropies.vonNeumann(direct), p.cut(c.k()).entropy(), 1e-12);
            }
        }
    }

    @Test
    void productStateHasZeroEntropyAtEveryCut() {
        Random rnd = new Random(3);
        int[] sites = {2, 3, 2, 2, 5, 2};
        double[] v = {1};
        for (int d : sites) {
            double[] f = gaussian(rnd, d);
            double[] w = new double[v.length * d];
            for (int i = 0; i < v.length; i++) for (int j = 0; j < d; j++) w[i * d + j] = v[i] * f[j];
            v = w;
        }
        EntanglementProfile p = CALC.profile(v, 12, 20, sites, ProfileOptions.DEFAULT);
        for (CutEntropy c : p.cuts()) {
            assertEquals(0, c.entropy(), 1e-10, "cut " + c.cut());
            assertEquals(0, c.renyi("S2"), 1e-10);
            assertEquals(1, c.bondDimension());
        }
    }

    /** Lemma X.1: vec(B·A) has Schmidt rank ≤ r at the row/column cut, so S, S2 ≤ ln r. */
    @Test
    void loraRowColumnCutObeysLnR() {
        Random rnd = new Random(11);
        for (int r : new int[]{1, 4, 16}) {
            int out = 256, in = 128;
            double[] b = gaussian(rnd, out * r);
            double[] a = gaussian(rnd, r * in);
            double[] dw = LA.multiply(b, out, r, false, a, r, in, false);
            EntanglementProfile p = CALC.profile(dw, out, in, ProfileOptions.DEFAULT);
            CutEntropy rc = p.cut(p.rowColumnCut());
            assertEquals(out, rc.dL());
            assertTrue(rc.entropy() <= Math.log(r) + 1e-9, "S=" + rc.entropy() + " > ln " + r);
            assertTrue(rc.renyi("S2") <= Math.log(r) + 1e-9);
            assertEquals(r, rc.bondDimension());
            // a neighbouring cut is not bound by r (the valley)
            assertTrue(p.cut(p.rowColumnCut() - 1).entropy() > rc.entropy() || r == 1);
        }
    }

    /** The factor route (problem sizes rows·r and r·cols) equals the dense ΔW's profile. */
    @Test
    void lowRankFactorsGiveTheDenseProfile() {
        Random rnd = new Random(19);
        for (int[] c : new int[][]{{12, 18, 3}, {256, 64, 16}, {30, 7, 2}, {64, 256, 1}, {8, 8, 8}}) {
            int rows = c[0], cols = c[1], r = c[2];
            double[] left = gaussian(rnd, rows * r), right = gaussian(rnd, r * cols);
            DeltaMatrix d = DeltaMatrix.lowRank(0, "q_proj", rows, cols, new DeltaMatrix.LowRank(left, right, r), List.of());
            ProfileOptions o = new ProfileOptions(new double[]{2, 3}, null, false);
            EntanglementProfile fast = CALC.profile(d, o);
            EntanglementProfile dense = CALC.profile(d.data(), rows, cols, o);
            assertEquals(dense.cuts().size(), fast.cuts().size());
            assertEquals(dense.rowColumnCut(), fast.rowColumnCut());
            for (int k = 1; k <= dense.cuts().size(); k++) {
                String where = rows + "x" + cols + " r=" + r + " cut " + k;
                assertEquals(dense.cut(k).dL(), fast.cut(k).dL(), where);
                assertEquals(dense.cut(k).entropy(), fast.cut(k).entropy(), 1e-10, where);
                assertEquals(dense.cut(k).renyi("S3"), fast.cut(k).renyi("S3"), 1e-10, where);
            }
        }
    }

    @Test
    void renyiEntropiesAreOrdered() {
        double[] m = gaussian(new Random(5), 32 * 48);
        ProfileOptions o = new ProfileOptions(new double[]{0, 0.5, 2, 3, Double.POSITIVE_INFINITY}, null, false);
        for (CutEntropy c : CALC.profile(m, 32, 48, o).cuts()) {
            assertTrue(c.renyi("S0") >= c.renyi("S0.5") - 1e-12);
            assertTrue(c.renyi("S0.5") >= c.entropy() - 1e-12);
            assertTrue(c.entropy() >= c.renyi("S2") - 1e-12);
            assertTrue(c.renyi("S2") >= c.renyi("S3") - 1e-12);
            assertTrue(c.renyi("S3") >= c.renyi("Sinf") - 1e-12);
            assertEquals(Math.log(c.chi()), c.renyi("S0"), 1e-12);
        }
    }

    @Test
    void explicitSitesRegroupTheSameVector() {
        double[] m = gaussian(new Random(9), 16 * 16);
        EntanglementProfile fine = CALC.profile(m, 16, 16, ProfileOptions.DEFAULT);
        EntanglementProfile coarse = CALC.profile(m, 16, 16, new int[]{4, 4, 4, 4}, ProfileOptions.DEFAULT);
        assertEquals(3, coarse.cuts().size());
        for (int k = 1; k <= 3; k++) assertEquals(fine.cut(2 * k).entropy(), coarse.cut(k).entropy(), 1e-12);
        assertEquals(2, coarse.rowColumnCut());
    }

    /** Without truncation the sequential SVD sweep (eq. 21–26) reproduces the exact profile. */
    @Test
    void untruncatedSweepEqualsExactProfile() {
        double[] m = gaussian(new Random(13), 24 * 40);
        EntanglementProfile exact = CALC.profile(m, 24, 40, ProfileOptions.DEFAULT);
        EntanglementProfile sweep = CALC.profile(m, 24, 40, ProfileOptions.DEFAULT.withChiMax(10_000));
        for (int k = 1; k <= exact.cuts().size(); k++) {
            assertEquals(exact.cut(k).entropy(), sweep.cut(k).entropy(), 1e-10, "cut " + k);
            assertEquals(0, sweep.cut(k).discardedWeight(), 1e-12);
        }
    }

    /** Paper Fig. 2: a Gaussian 2048×2048 swept with χ_max = 32 plateaus at ≤ ln 32. */
    @Test
    void truncatedSweepOfGaussianPlateausAtLnChi() {
        int n = 2048;
        double[] m = gaussian(new Random(17), n * n);
        EntanglementProfile p = CALC.profile(m, n, n, ProfileOptions.DEFAULT.withChiMax(32));
        double lnChi = Math.log(32);
        double max = 0;
        for (CutEntropy c : p.cuts()) {
            assertTrue(c.entropy() <= lnChi + 1e-9, "cut " + c.cut() + " S=" + c.entropy());
            assertTrue(c.bondDimension() <= 32);
            max = Math.max(max, c.entropy());
        }
        CutEntropy mid = p.cut(11);
        assertTrue(mid.entropy() > lnChi - 0.1, "plateau near ln 32, got " + mid.entropy());
        // 64 candidate values, 32 kept: a sizeable share of the weight goes at each mid-chain bond
        assertTrue(mid.discardedWeight() > 0.25 && mid.discardedWeight() < 0.75, "discarded weight mid-chain: " + mid.discardedWeight());
        assertEquals(0, p.cut(1).discardedWeight(), 1e-12);
        assertTrue(max <= lnChi + 1e-9);
    }

    @Test
    void zeroMatrixReportsZeroEntropy() {
        EntanglementProfile p = CALC.profile(new double[64], 8, 8, ProfileOptions.DEFAULT);
        for (CutEntropy c : p.cuts()) assertEquals(0, c.entropy());
    }
}
