package dev.entangle.cli;

import dev.entangle.core.spectrum.CutSpectra;
import dev.entangle.core.spectrum.Entropies;
import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.engine.OpenBlasLinearAlgebra;
import dev.entangle.core.tensor.Tensorisation;
import dev.entangle.core.tensor.Tensorisation.Cut;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Where a dense exact profile spends its time ({@code entangle bench --kernels}): the kernels
 * {@link CutSpectra} runs, timed one by one on the bench matrix. The
 * balanced cut's eigen-solve is a floor no reuse of Gram products can lower (its spectrum is
 * needed whole, paper eq. 18); float32 would halve it, so its entropy error is measured too,
 * on the bench matrix and on one whose columns span six decades (a decaying spectrum, as
 * fine-tuned ΔW have).
 */
final class KernelBreakdown {

    private final LinearAlgebra la;
    private final int repeat;
    private final PrintWriter out;

    KernelBreakdown(LinearAlgebra la, int repeat, PrintWriter out) {
        this.la = la;
        this.repeat = repeat;
        this.out = out;
    }

    void print(int rows, int cols, double[] v, double numpySeconds) {
        List<Cut> cuts = Tensorisation.cuts(Tensorisation.sites(rows, cols));
        int lastLeft = CutSpectra.lastLeftSided(cuts);
        double grams = 0;
        if (lastLeft >= 0) grams += gram("ρ_L", v, cuts.get(lastLeft), true);
        if (lastLeft + 1 < cuts.size()) grams += gram("ρ_R", v, cuts.get(lastLeft + 1), false);

        // One solve per distinct width (its time depends on the width, not on the cut).
        Map<Integer, Integer> countByWidth = new TreeMap<>(java.util.Comparator.reverseOrder());
        Map<Integer, Cut> cutByWidth = new TreeMap<>();
        for (Cut c : cuts) {
            int w = (int) Math.min(c.dL(), c.dR());
            countByWidth.merge(w, 1, Integer::sum);
            cutByWidth.putIfAbsent(w, c);
        }
        double solves = 0;
        double balanced = Double.NaN;
        for (Map.Entry<Integer, Integer> e : countByWidth.entrySet()) {
            Cut c = cutByWidth.get(e.getKey());
            double[] rho = la.gram(v, (int) c.dL(), (int) c.dR(), c.leftIsSmaller());
            double t = median(() -> la.symmetricEigenvalues(rho, e.getKey()));
            if (Double.isNaN(balanced)) balanced = t;
            solves += t * e.getValue();
            out.printf(Locale.ROOT, "  eigen-solve %5d wide × %2d cuts %8.3f s each%n", e.getKey(), e.getValue(), t);
        }
        out.printf(Locale.ROOT, "  kernels total %.3f s (Grams %.3f, solves %.3f); the balanced cut's solve alone is %.3f s = %.2f× numpy's whole profile%n",
                grams + solves, grams, solves, balanced, balanced / numpySeconds);
        if (la instanceof OpenBlasLinearAlgebra blas && lastLeft >= 0) {
            Cut c = cuts.get(lastLeft);
            float32("bench matrix", blas, v, c);
            float32("columns over 6 decades", blas, decadesScaled(v, rows, cols), c);
        }
    }

    private double gram(String name, double[] v, Cut c, boolean left) {
        double t = median(() -> la.gram(v, (int) c.dL(), (int) c.dR(), left));
        long n = left ? c.dL() : c.dR();
        out.printf(Locale.ROOT, "  Gram %s at cut %d (%d × %d, inner %d) %8.3f s%n", name, c.k(), n, n, left ? c.dR() : c.dL(), t);
        return t;
    }

    /** The balanced cut's spectrum in float32 (Gram and solve) against float64: time and entropy error. */
    private void float32(String what, OpenBlasLinearAlgebra blas, double[] v, Cut c) {
        int dL = (int) c.dL(), dR = (int) c.dR();
        double exact = Entropies.vonNeumann(Entropies.normalise(la.symmetricEigenvalues(la.gram(v, dL, dR, true), dL)));
        double[][] last = new double[1][];
        double t = median(() -> last[0] = blas.float32GramEigenvalues(v, dL, dR, true));
        double f32 = Entropies.vonNeumann(Entropies.normalise(last[0]));
        out.printf(Locale.ROOT, "  float32 Gram + solve at cut %d, %s: %.3f s, S %.9f vs float64 %.9f, |ΔS| = %.1e nats (tolerance 1e-6)%n",
                c.k(), what, t, f32, exact, Math.abs(f32 - exact));
    }

    /** The matrix with column j scaled by 10^(−6 j / cols): singular values over about six decades. */
    private static double[] decadesScaled(double[] v, int rows, int cols) {
        double[] s = new double[v.length];
        for (int j = 0; j < cols; j++) {
            double f = Math.pow(10, -6.0 * j / cols);
            for (int i = 0; i < rows; i++) s[i * cols + j] = v[i * cols + j] * f;
        }
        return s;
    }

    private double median(Supplier<?> kernel) {
        kernel.get(); // warm-up
        double[] t = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            long t0 = System.nanoTime();
            kernel.get();
            t[i] = (System.nanoTime() - t0) / 1e9;
        }
        return BenchCommand.median(t);
    }
}
