package dev.entangle.core.spectrum;

/**
 * Entanglement entropies of a spectrum, natural log throughout (paper eq. 13, 18 and
 * Appendix VII C): p_i = s_i² / Σ s², S = −Σ p ln p, S_α = ln(Σ p^α)/(1−α).
 */
public final class Entropies {

    private Entropies() {}

    /**
     * The entanglement spectrum: squared singular values (eigenvalues of a reduced density
     * matrix, possibly with round-off negatives) clipped at 0 and normalised to sum 1.
     */
    public static double[] normalise(double[] squaredSingularValues) {
        double total = 0;
        for (double v : squaredSingularValues) if (v > 0) total += v;
        double[] p = new double[squaredSingularValues.length];
        if (total == 0) return p;
        for (int i = 0; i < p.length; i++) p[i] = squaredSingularValues[i] > 0 ? squaredSingularValues[i] / total : 0;
        return p;
    }

    /** Von Neumann entropy −Σ p ln p of a normalised spectrum (0 ln 0 = 0). */
    public static double vonNeumann(double[] p) {
        double s = 0;
        for (double x : p) if (x > 0) s -= x * Math.log(x);
        return s;
    }

    /**
     * Rényi entropy of order α ≥ 0: ln(Σ p^α)/(1−α); α = 1 is von Neumann, α = ∞ is
     * −ln max p, α = 0 is ln of the number of non-zero p.
     */
    public static double renyi(double[] p, double alpha) {
        if (alpha < 0 || Double.isNaN(alpha)) throw new IllegalArgumentException("Rényi order must be >= 0, got " + alpha);
        if (alpha == 1) return vonNeumann(p);
        if (Double.isInfinite(alpha)) {
            double max = 0;
            for (double x : p) max = Math.max(max, x);
            return max > 0 ? -Math.log(max) : 0;
        }
        double sum = 0;
        if (alpha == 0) {
            for (double x : p) if (x > 0) sum += 1;
        } else if (alpha == 2) {
            for (double x : p) sum += x * x;
        } else {
            for (double x : p) if (x > 0) sum += Math.pow(x, alpha);
        }
        return sum > 0 ? Math.log(sum) / (1 - alpha) : 0;
    }
}
