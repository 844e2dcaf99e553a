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

    /**
     * What a head's Cardy numbers share with its profile's row/column cut: ρ = A·Aᵀ, its
     * eigenvalues (A's squared singular values, descending), those of A⊥·A⊥ᵀ (the bulk s_i(A⊥)²),
     * both from one reduction, and σ² = ‖A⊥‖²_F.
     */
    public record Spectra(double[] rho, double[] values, double[] bulk, double sigma2) {}

    /**
     * A's spectra. A⊥ = A·(I − 11ᵀ/T), each row less its own mean: for a row-stochastic A that
     * mean is 1/T and A⊥ is the paper's A − 11ᵀ/T (eq. 6), while a captured A, whose rows sum to 1
     * only to its float32 rounding, keeps A⊥·1 = 0 exactly. So A⊥·A⊥ᵀ = A·Aᵀ − y·yᵀ with
     * y = A·1/√T, a rank-one downdate of ρ, and one tridiagonal reduction gives both spectra
     * ({@link LinearAlgebra#symmetricEigenvaluesDowndated}).
     */
    public static Spectra spectra(double[] attention, int tokens, LinearAlgebra la) {
        if (attention.length != (long) tokens * tokens) {
            throw new IllegalArgumentException("attention has " + attention.length + " values, not " + tokens + "²");
        }
        double[] y = new double[tokens];
        double sigma2 = 0;
        double rootT = Math.sqrt(tokens);
        boolean causal = true;
        for (int i = 0; i < tokens; i++) {
            int row = i * tokens;
            double sum = 0;
            for (int j = 0; j < tokens; j++) sum += attention[row + j];
            for (int j = i + 1; j < tokens && causal; j++) causal = attention[row + j] == 0;
            double mean = sum / tokens;
            for (int j = 0; j < tokens; j++) {
                double d = attention[row + j] - mean;
                sigma2 += d * d;
            }
            y[i] = sum / rootT;
        }
        // a causal head is lower triangular: its Gram in a third of the flops
        double[] rho = causal ? la.lowerTriangularGram(attention, tokens) : la.gram(attention, tokens, tokens, true);
        LinearAlgebra.Downdated d = la.symmetricEigenvaluesDowndated(rho, tokens, y);
        return new Spectra(rho, d.values(), d.downdated(), sigma2);
    }

    /** From a row-major T × T attention matrix; S(A), S₂(A) measured from A's own singular values. */
    public static AttentionCardy of(double[] attention, int tokens, LinearAlgebra la) {
        return of(tokens, spectra(attention, tokens, la));
    }

    /** From A's spectra ({@link #spectra}); S(A), S₂(A) are those of its values, the row/column cut's. */
    public static AttentionCardy of(int tokens, Spectra spectra) {
        double[] p = Entropies.normalise(spectra.values());
        double measuredEntropy = Entropies.vonNeumann(p);
        double measuredRenyi2 = Entropies.renyi(p, 2);
        double sigma2 = spectra.sigma2();
        double[] bulk = spectra.bulk();   // s_i(A⊥)²
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
