package dev.entangle.bench;

import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.engine.OpenBlasLinearAlgebra;
import dev.entangle.core.spectrum.CutSpectra;
import dev.entangle.core.spectrum.Entropies;
import dev.entangle.core.tensor.Tensorisation;
import dev.entangle.core.tensor.Tensorisation.Cut;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a dense exact profile spends its time ({@code entangle bench --kernels}): the kernels
 * {@link CutSpectra} runs, timed one by one on the bench matrix. The
 * balanced cut's eigen-solve is a floor no reuse of Gram products can lower (its spectrum is
 * needed whole, paper eq. 18); float32 would halve it, so its entropy error is measured too,
 * on the bench matrix and on one whose columns span six decades (a decaying spectrum, as
 * fine-tuned ΔW have). {@link #measure} times; {@link Result#print} reports.
 */
final class KernelBreakdown {

    /** One of the two Gram products a profile forms: ρ_L at the last left-sided cut, ρ_R at the next. */
    record Gram(String side, int cut, long n, long inner, double seconds) {}

    /** The eigen-solve of one width min(d_L, d_R), and how many cuts solve one that wide (its time depends on the width only). */
    record Solve(int width, int cuts, double seconds) {}

    /** The balanced cut's spectrum in float32 on one matrix: its time and von Neumann entropy against float64's. */
    record Float32(String matrix, int cut, double seconds, double entropy, double float64Entropy) {
        double entropyError() { return Math.abs(entropy - float64Entropy); }
    }

    /**
     * What one breakdown measured. Solves run widest first, so the first is the balanced cut's;
     * {@code float32} is empty on engines other than OpenBLAS (the float32 kernels bind to it).
     */
    record Result(List<Gram> grams, List<Solve> solves, List<Float32> float32, double balancedSolveOneThread) {
        double gramSeconds() { return grams.stream().mapToDouble(Gram::seconds).sum(); }

        double solveSeconds() { return solves.stream().mapToDouble(s -> s.seconds() * s.cuts()).sum(); }

        double balancedSolveSeconds() { return solves.isEmpty() ? Double.NaN : solves.get(0).seconds(); }

        /**
         * The report, set against the numpy anchor's whole profile ({@code numpySeconds}, NaN without
         * one) and this engine's ({@code profileSeconds}).
         */
        void print(PrintWriter out, double numpySeconds, double profileSeconds) {
            for (Gram g : grams) {
                out.printf(Locale.ROOT, "  Gram %s at cut %d (%d × %d, inner %d) %8.3f s%n", g.side(), g.cut(), g.n(), g.n(), g.inner(), g.seconds());
            }
            for (Solve s : solves) {
                out.printf(Locale.ROOT, "  eigen-solve %5d wide × %2d cuts %8.3f s each%n", s.width(), s.cuts(), s.seconds());
            }
            out.printf(Locale.ROOT, "  kernels total %.3f s (Grams %.3f, solves %.3f); the balanced cut's solve alone is %.3f s = %.2f× numpy's whole profile%n",
                    gramSeconds() + solveSeconds(), gramSeconds(), solveSeconds(), balancedSolveSeconds(), balancedSolveSeconds() / numpySeconds);
            out.printf(Locale.ROOT, "  the whole profile %.3f s = %.2f× the balanced cut's solve (kernels one after another: %.2f×)%n",
                    profileSeconds, profileSeconds / balancedSolveSeconds(), (gramSeconds() + solveSeconds()) / balancedSolveSeconds());
            if (!Double.isNaN(balancedSolveOneThread)) {
                out.printf(Locale.ROOT, "  the balanced cut's solve on one thread %.3f s (%.2f× slower than on %d)%n",
                        balancedSolveOneThread, balancedSolveOneThread / balancedSolveSeconds(), OpenBlasLinearAlgebra.threadsPerCall());
            }
            for (Float32 f : float32) {
                out.printf(Locale.ROOT, "  float32 Gram + solve at cut %d, %s: %.3f s, S %.9f vs float64 %.9f, |ΔS| = %.1e nats (tolerance 1e-6)%n",
                        f.cut(), f.matrix(), f.seconds(), f.entropy(), f.float64Entropy(), f.entropyError());
            }
        }
    }

    private final LinearAlgebra la;
    private final int repeat;

    KernelBreakdown(LinearAlgebra la, int repeat) {
        this.la = la;
        this.repeat = repeat;
    }

    /** Times each kernel of the exact profile of the row-major {@code rows × cols} matrix {@code v}. */
    Result measure(int rows, int cols, double[] v) {
        List<Cut> cuts = Tensorisation.cuts(Tensorisation.sites(rows, cols));
        int lastLeft = CutSpectra.lastLeftSided(cuts);
        List<Gram> grams = new ArrayList<>();
        if (lastLeft >= 0) grams.add(gram("ρ_L", v, cuts.get(lastLeft), true));
        if (lastLeft + 1 < cuts.size()) grams.add(gram("ρ_R", v, cuts.get(lastLeft + 1), false));

        Map<Integer, Integer> countByWidth = new TreeMap<>(Comparator.reverseOrder());
        Map<Integer, Cut> cutByWidth = new TreeMap<>();
        for (Cut c : cuts) {
            int w = (int) Math.min(c.dL(), c.dR());
            countByWidth.merge(w, 1, Integer::sum);
            cutByWidth.putIfAbsent(w, c);
        }
        List<Solve> solves = new ArrayList<>();
        for (Map.Entry<Integer, Integer> e : countByWidth.entrySet()) {
            Cut c = cutByWidth.get(e.getKey());
            double[] rho = la.gram(v, (int) c.dL(), (int) c.dR(), c.leftIsSmaller());
            solves.add(new Solve(e.getKey(), e.getValue(), time(() -> la.symmetricEigenvalues(rho, e.getKey()))));
        }

        double oneThread = Double.NaN;
        if (la instanceof OpenBlasLinearAlgebra && !solves.isEmpty()) {
            Cut c = cutByWidth.get(solves.getFirst().width());
            double[] rho = la.gram(v, (int) c.dL(), (int) c.dR(), c.leftIsSmaller());
            int threads = OpenBlasLinearAlgebra.threadsPerCall();
            OpenBlasLinearAlgebra.threadsPerCall(1);
            try {
                oneThread = time(() -> la.symmetricEigenvalues(rho, solves.getFirst().width()));
            } finally {
                OpenBlasLinearAlgebra.threadsPerCall(threads);
            }
        }
        List<Float32> float32 = new ArrayList<>();
        if (la instanceof OpenBlasLinearAlgebra blas && lastLeft >= 0) {
            Float32Spectrum f32 = new Float32Spectrum(blas);
            Cut c = cuts.get(lastLeft);
            float32.add(float32("bench matrix", f32, v, c));
            float32.add(float32("columns over 6 decades", f32, decadesScaled(v, rows, cols), c));
        }
        return new Result(List.copyOf(grams), List.copyOf(solves), List.copyOf(float32), oneThread);
    }

    private Gram gram(String side, double[] v, Cut c, boolean left) {
        double t = time(() -> la.gram(v, (int) c.dL(), (int) c.dR(), left));
        return new Gram(side, c.k(), left ? c.dL() : c.dR(), left ? c.dR() : c.dL(), t);
    }

    /** The balanced cut's spectrum in float32 (Gram and solve) against float64: time and entropy. */
    private Float32 float32(String what, Float32Spectrum f32, double[] v, Cut c) {
        int dL = (int) c.dL(), dR = (int) c.dR();
        double exact = Entropies.vonNeumann(Entropies.normalise(la.symmetricEigenvalues(la.gram(v, dL, dR, true), dL)));
        double[][] last = new double[1][];
        double t = time(() -> last[0] = f32.gramEigenvalues(v, dL, dR, true));
        return new Float32(what, c.k(), t, Entropies.vonNeumann(Entropies.normalise(last[0])), exact);
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

    /** A kernel's median over the repeats, after one warm-up run. */
    private double time(Runnable kernel) {
        kernel.run();
        return Timing.medianSeconds(repeat, kernel);
    }
}
