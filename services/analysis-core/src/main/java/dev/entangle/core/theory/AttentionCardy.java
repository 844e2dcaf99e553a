package dev.entangle.core.theory;

import dev.entangle.core.spectrum.Entropies;
import dev.entangle.core.engine.LinearAlgebra;

/**
 * The Attention Cardy formula (paper Theorem II.1 / VIII.1, eq. 6–7): write A = 11ᵀ/T + A⊥
 * (the two parts are Frobenius-orthogonal for a row-stochastic A). With σ² = ‖A⊥‖²_F and the
 * rescaled bulk x_i = √T · s_i(A⊥), the entanglement spectrum of A is p₁ ≈ 1/(1+σ²),
 * p_i ≈ x_i²/(T(1+σ²)), hence
 * S(A) ≈ σ²/(1+σ²) · ln T + C_A,  C_A = ln(1+σ²) − m2log/(1+σ²),  m2log = (1/T) Σ x_i² ln x_i²,
 * and S₂(A) ≈ 2 ln(1+σ²) (leading order; at finite T the bulk adds Σ p_i² = m4/(T(1+σ²)²) with
 * m4 = (1/T) Σ x_i⁴, so S₂ ≈ 2 ln(1+σ²) − ln(1 + m4/T), which is reported as the prediction). Measured S(A), S₂(A) are those of A's own singular values (the
 * row/column cut of A's profile).
 */
public record AttentionCardy(int tokens, double sigma2, double charge, double m2log, double constant,
                             double predictedEntropy, double predictedRenyi2, double leadingRenyi2, double measuredEntropy,
                             double measuredRenyi2) {

    /** From a row-major T × T attention matrix; S(A), S₂(A) measured from A's own singular values. */
    public static AttentionCardy of(double[] attention, int tokens, LinearAlgebra la) {
        double[] p = Entropies.normalise(la.symmetricEigenvalues(la.gram(attention, tokens, tokens, true), tokens));
        return of(attention, tokens, la, Entropies.vonNeumann(p), Entropies.renyi(p, 2));
    }

    /**
     * With S(A), S₂(A) already measured (the row/column cut of A's profile is exactly A's own
     * singular-value spectrum), so A's Gram is not solved a second time.
     */
    public static AttentionCardy of(double[] attention, int tokens, LinearAlgebra la, double measuredEntropy, double measuredRenyi2) {
        if (attention.length != (long) tokens * tokens) {
            throw new IllegalArgumentException("attention has " + attention.length + " values, not " + tokens + "²");
        }
        double mean = 1.0 / tokens;
        double[] perp = new double[attention.length];
        double sigma2 = 0;
        for (int i = 0; i < perp.length; i++) {
            perp[i] = attention[i] - mean;
            sigma2 += perp[i] * perp[i];
        }
        double[] bulk = la.symmetricEigenvalues(la.gram(perp, tokens, tokens, true), tokens);   // s_i(A⊥)²
        double m2log = 0;
        double m4 = 0;
        for (double s2 : bulk) {
            double x2 = tokens * Math.max(0, s2);
            if (x2 > 0) m2log += x2 * Math.log(x2);
            m4 += x2 * x2;
        }
        m2log /= tokens;
        m4 /= tokens;
        double charge = sigma2 / (1 + sigma2);
        double constant = Math.log1p(sigma2) - m2log / (1 + sigma2);
        return new AttentionCardy(tokens, sigma2, charge, m2log, constant, charge * Math.log(tokens) + constant,
                2 * Math.log1p(sigma2) - Math.log1p(m4 / tokens), 2 * Math.log1p(sigma2), measuredEntropy, measuredRenyi2);
    }
}
