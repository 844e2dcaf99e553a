package dev.entangle.core.theory;

import java.util.Arrays;

/**
 * The Marchenko–Pastur law of a cut's entanglement spectrum (paper Appendix VII, Fig. 23–24):
 * for an i.i.d. dL × dR matrix with aspect c = min/max ≤ 1, the rescaled spectrum
 * x = d_min · p_i has density ρ(x) = √((b − x)(x − a)) / (2π c x) on [a, b],
 * a = (1 − √c)², b = (1 + √c)² (mean 1, second moment 1 + c).
 */
public final class MarchenkoPastur {

    /** Quadrature nodes in θ (x = centre + half·cos θ); the integrands are smooth in θ. */
    private static final int NODES = 4096;

    private final double c;
    private final double a;
    private final double b;
    /** x at the nodes (descending in θ order: node 0 near b) and the mass of each node. */
    private final double[] x;
    private final double[] w;

    public MarchenkoPastur(double aspect) {
        if (!(aspect > 0 && aspect <= 1)) throw new IllegalArgumentException("aspect must be in (0, 1], got " + aspect);
        this.c = aspect;
        double s = Math.sqrt(aspect);
        this.a = (1 - s) * (1 - s);
        this.b = (1 + s) * (1 + s);
        double centre = (a + b) / 2;
        double half = (b - a) / 2;
        x = new double[NODES];
        w = new double[NODES];
        double h = Math.PI / NODES;
        for (int i = 0; i < NODES; i++) {
            double theta = (i + 0.5) * h;   // midpoint rule: spectrally accurate for this periodic integrand
            x[i] = centre + half * Math.cos(theta);
            double sin = Math.sin(theta);
            w[i] = half * half * sin * sin / (2 * Math.PI * c * x[i]) * h;
        }
    }

    /** For a dL × dR cut. */
    public static MarchenkoPastur forCut(long dL, long dR) {
        return new MarchenkoPastur((double) Math.min(dL, dR) / Math.max(dL, dR));
    }

    public double aspect() { return c; }

    public double lowerEdge() { return a; }

    public double upperEdge() { return b; }

    /** ρ(x). */
    public double density(double xv) {
        if (xv <= a || xv >= b) return 0;
        return Math.sqrt((b - xv) * (xv - a)) / (2 * Math.PI * c * xv);
    }

    /** ∫ f(x) ρ(x) dx. */
    public double expect(java.util.function.DoubleUnaryOperator f) {
        double s = 0;
        for (int i = 0; i < NODES; i++) s += f.applyAsDouble(x[i]) * w[i];
        return s;
    }

    /** ∫ ρ (1 up to quadrature error). */
    public double mass() { return expect(v -> 1); }

    /** ∫ x^k ρ. */
    public double moment(int k) { return expect(v -> Math.pow(v, k)); }

    /** Expected entanglement entropy of a cut with d_min values: ln d_min − ∫ x ln x ρ. */
    public double expectedEntropy(long dMin) {
        return Math.log(dMin) - expect(v -> v * Math.log(v));
    }

    /** F(x) = ∫_a^x ρ. */
    public double cdf(double xv) {
        if (xv <= a) return 0;
        if (xv >= b) return 1;
        double s = 0;
        for (int i = 0; i < NODES; i++) if (x[i] <= xv) s += w[i];
        return Math.min(1, s / mass());
    }

    /** Distances between a measured normalised spectrum (p_i, summing to 1) and this law. */
    public record Distance(double kolmogorovSmirnov, double jensenShannon, int values) {}

    /**
     * Kolmogorov–Smirnov sup |F_emp − F| and Jensen–Shannon divergence (nats, 64 equal bins on
     * [0, max(b, x_max)]) of x_i = d_min · p_i against ρ. {@code p} holds the d_min values of
     * the cut (zeros included: a low-rank cut is far from MP, and should read so).
     */
    public Distance distance(double[] p, long dMin) {
        if (p.length == 0) throw new IllegalArgumentException("empty spectrum");
        double[] xs = new double[(int) dMin];
        for (int i = 0; i < Math.min(p.length, xs.length); i++) xs[i] = dMin * p[i];
        Arrays.sort(xs);
        int n = xs.length;
        double ks = 0;
        for (int i = 0; i < n; i++) {
            double f = cdf(xs[i]);
            ks = Math.max(ks, Math.max(Math.abs((i + 1.0) / n - f), Math.abs((double) i / n - f)));
        }
        int bins = 64;
        double top = Math.max(b, xs[n - 1]) * (1 + 1e-12);
        double[] emp = new double[bins];
        double[] law = new double[bins];
        for (double v : xs) emp[Math.min(bins - 1, (int) (v / top * bins))] += 1.0 / n;
        double total = mass();
        for (int i = 0; i < NODES; i++) law[Math.min(bins - 1, (int) (x[i] / top * bins))] += w[i] / total;
        double js = 0;
        for (int i = 0; i < bins; i++) {
            double m = (emp[i] + law[i]) / 2;
            if (emp[i] > 0) js += 0.5 * emp[i] * Math.log(emp[i] / m);
            if (law[i] > 0) js += 0.5 * law[i] * Math.log(law[i] / m);
        }
        return new Distance(ks, js, n);
    }
}
