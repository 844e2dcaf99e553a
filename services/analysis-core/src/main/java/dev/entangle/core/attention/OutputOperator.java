package dev.entangle.core.attention;

import dev.entangle.core.spectrum.Entropies;

/**
 * Stable rank and the entropy bounds of the output operator Σ = X Xᵀ (paper Lemma II.2,
 * Theorem II.3): r_stable = Tr(Σ²)/λ₁², η = r_stable − 1, δ₁ = Σ_{i≥2} λ_i/λ₁, δ = min(1, δ₁);
 * S(X) ≤ h₂(δ) + δ ln(T − 1) and S₂(X) ≤ 2 ln(1 + δ₁), where S(X) is the entropy of
 * ρ = Σ/Tr Σ.
 */
public record OutputOperator(int tokens, double stableRank, double eta, double delta1, double delta,
                             double entropy, double renyi2, double entropyBound, double renyi2Bound,
                             double delta1CauchySchwarz) {

    /** From the eigenvalues of Σ (any order; round-off negatives are clipped). */
    public static OutputOperator of(double[] eigenvalues, int tokens) {
        double l1 = 0;
        double sum = 0;
        double sumSq = 0;
        for (double v : eigenvalues) {
            double x = Math.max(0, v);
            l1 = Math.max(l1, x);
            sum += x;
            sumSq += x * x;
        }
        if (l1 == 0) throw new IllegalArgumentException("X Xᵀ is zero: no stable rank");
        double stable = sumSq / (l1 * l1);
        double eta = stable - 1;
        double delta1 = (sum - l1) / l1;
        double delta = Math.min(1, delta1);
        double[] p = Entropies.normalise(eigenvalues);
        double bound = h2(delta) + delta * Math.log(tokens - 1);
        return new OutputOperator(tokens, stable, eta, delta1, delta, Entropies.vonNeumann(p), Entropies.renyi(p, 2),
                bound, 2 * Math.log1p(delta1), Math.sqrt((tokens - 1) * Math.max(0, eta)));
    }

    /** Binary entropy in nats, h₂(0) = h₂(1) = 0. */
    static double h2(double u) {
        if (u <= 0 || u >= 1) return 0;
        return -u * Math.log(u) - (1 - u) * Math.log1p(-u);
    }
}
