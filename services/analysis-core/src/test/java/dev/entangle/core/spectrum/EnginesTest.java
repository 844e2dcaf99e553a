package dev.entangle.core.spectrum;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Each engine's kernels against plain-Java references. */
class EnginesTest {

    static Stream<String> engines() { return Engines.NAMES.stream(); }

    static double[] gaussian(Random r, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = r.nextGaussian();
        return x;
    }

    @ParameterizedTest
    @MethodSource("engines")
    void kernelsMatchReferences(String name) {
        LinearAlgebra la = Engines.named(name);
        Random rnd = new Random(23);
        int rows = 7, cols = 5;
        double[] a = gaussian(rnd, rows * cols);
        double[] left = la.gram(a, rows, cols, true);
        double[] right = la.gram(a, rows, cols, false);
        for (int i = 0; i < rows; i++) for (int j = 0; j < rows; j++) {
            double s = 0;
            for (int k = 0; k < cols; k++) s += a[i * cols + k] * a[j * cols + k];
            assertEquals(s, left[i * rows + j], 1e-12);
        }
        for (int i = 0; i < cols; i++) for (int j = 0; j < cols; j++) {
            double s = 0;
            for (int k = 0; k < rows; k++) s += a[k * cols + i] * a[k * cols + j];
            assertEquals(s, right[i * cols + j], 1e-12);
        }
        double[] b = gaussian(rnd, cols * 3);
        double[] ab = la.multiply(a, rows, cols, false, b, cols, 3, false);
        double[] atb = la.multiply(a, rows, cols, true, gaussian(new Random(1), rows * 2), rows, 2, false);
        for (int i = 0; i < rows; i++) for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < cols; k++) s += a[i * cols + k] * b[k * 3 + j];
            assertEquals(s, ab[i * 3 + j], 1e-12);
        }
        assertEquals(cols * 2, atb.length);

        // Eigen-decomposition: G v_i = λ_i v_i, values descending, values-only agrees.
        LinearAlgebra.Eigen e = la.symmetricEigen(right, cols);
        double[] values = la.symmetricEigenvalues(right, cols);
        for (int i = 0; i < cols; i++) {
            assertEquals(e.values()[i], values[i], 1e-10);
            if (i > 0) assertEquals(true, values[i] <= values[i - 1]);
            for (int r = 0; r < cols; r++) {
                double gv = 0;
                for (int c = 0; c < cols; c++) gv += right[r * cols + c] * e.vectors()[c * cols + i];
                assertEquals(e.values()[i] * e.vectors()[r * cols + i], gv, 1e-10);
            }
        }
    }
}
