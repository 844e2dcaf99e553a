package dev.entangle.bench;

import dev.entangle.core.engine.OpenBlasLinearAlgebra;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The bench's float32 kernels, bound on the engine's OpenBLAS, against the engine's float64 ones. */
class Float32SpectrumTest {

    @Test
    void float32GramSpectrumIsTheFloat64OneToFloat32Precision() {
        OpenBlasLinearAlgebra blas = new OpenBlasLinearAlgebra();
        Float32Spectrum float32 = new Float32Spectrum(blas);
        Random rnd = new Random(5);
        int rows = 40, cols = 60;
        double[] a = new double[rows * cols];
        for (int i = 0; i < a.length; i++) a[i] = rnd.nextGaussian();
        for (boolean left : new boolean[]{true, false}) {
            int n = left ? rows : cols;
            double[] f64 = blas.symmetricEigenvalues(blas.gram(a, rows, cols, left), n);
            double[] f32 = float32.gramEigenvalues(a, rows, cols, left);
            assertEquals(n, f32.length);
            for (int i = 0; i < n; i++) assertEquals(f64[i], f32[i], 1e-5 * f64[0], "eigenvalue " + i + (left ? " of ρ_L" : " of ρ_R"));
        }
    }
}
