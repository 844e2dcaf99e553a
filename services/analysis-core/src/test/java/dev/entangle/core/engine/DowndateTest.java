package dev.entangle.core.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Each engine's eigenvalues of G and of G − y·yᵀ against two plain solves (Gram matrices of
 * several widths, a y of either sign in its first entry, a y along e₁, y = 0 and n = 1), and
 * its Gram of a lower-triangular matrix against the plain Gram.
 */
class DowndateTest {

    static Stream<String> engines() { return Engines.available().stream(); }

    @ParameterizedTest
    @MethodSource("engines")
    void bothSpectraEqualTwoSolves(String name) {
        LinearAlgebra la = Engines.named(name);
        Random rnd = new Random(5);
        for (int n : new int[]{1, 2, 7, 64, 203}) {
            double[] a = EnginesTest.gaussian(rnd, n * (n + 3));
            double[] g = la.gram(a, n, n + 3, true);
            double[] unit = new double[n];
            unit[0] = -0.8;
            for (double[] y : new double[][]{EnginesTest.gaussian(rnd, n), negated(EnginesTest.gaussian(rnd, n)), unit, new double[n]}) {
                double[] before = g.clone();
                LinearAlgebra.Downdated d = la.symmetricEigenvaluesDowndated(g, n, y);
                assertEquals(0, Arrays.compare(before, g), "G is left as it was");
                double scale = la.symmetricEigenvalues(g, n)[0];
                assertClose(la.symmetricEigenvalues(g, n), d.values(), 1e-12 * scale, name + " n=" + n + ": eig(G)");
                assertClose(la.symmetricEigenvalues(minusOuter(g, n, y), n), d.downdated(), 1e-12 * scale, name + " n=" + n + ": eig(G − yyᵀ)");
            }
        }
    }

    @Test
    void reflectorMovesOnlyTheFirstDiagonalEntry() {
        Random rnd = new Random(9);
        int n = 9;
        double[] a = EnginesTest.gaussian(rnd, n * n);
        double[] g = new double[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) g[i * n + j] = a[i * n + j] + a[j * n + i];
        double[] y = EnginesTest.gaussian(rnd, n);
        // P(G − yyᵀ)P = PGP − ‖y‖²e₁e₁ᵀ: the reflected pair differs in B₁₁ alone
        double[] b = RankOneDowndate.reflectedUpper(g, n, y);
        double[] c = RankOneDowndate.reflectedUpper(minusOuter(g, n, y), n, y);
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                assertEquals(b[i * n + j] - (i == 0 && j == 0 ? RankOneDowndate.squaredNorm(y) : 0), c[i * n + j], 1e-12, "entry " + i + "," + j);
            }
        }
        // and B is G in the reflector's basis: the same trace and Frobenius norm
        double traceG = 0, traceB = 0, frobG = 0, frobB = 0;
        for (int i = 0; i < n; i++) {
            traceG += g[i * n + i];
            traceB += b[i * n + i];
            for (int j = 0; j < n; j++) {
                frobG += g[i * n + j] * g[i * n + j];
                double x = j >= i ? b[i * n + j] : b[j * n + i];
                frobB += x * x;
            }
        }
        assertEquals(traceG, traceB, 1e-12);
        assertEquals(frobG, frobB, 1e-10);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void lowerTriangularGramEqualsTheGram(String name) {
        LinearAlgebra la = Engines.named(name);
        Random rnd = new Random(13);
        for (int n : new int[]{1, 2, 7, 130}) {
            double[] l = EnginesTest.gaussian(rnd, n * n);
            for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) l[i * n + j] = 0;
            double[] before = l.clone();
            double[] want = la.gram(l, n, n, true), got = la.lowerTriangularGram(l, n);
            assertEquals(0, Arrays.compare(before, l), "L is left as it was");
            for (int i = 0; i < n * n; i++) assertEquals(want[i], got[i], 1e-12 * n, name + " n=" + n + " entry " + i);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void refusesShapesThatDisagree(String name) {
        LinearAlgebra la = Engines.named(name);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> la.symmetricEigenvaluesDowndated(new double[9], 3, new double[2]));
        assertEquals("y has 2 entries, not 3", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> la.symmetricEigenvaluesDowndated(new double[8], 3, new double[3]));
        assertEquals("G has 8 values, not 3²", e.getMessage());
    }

    static double[] minusOuter(double[] g, int n, double[] y) {
        double[] d = g.clone();
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) d[i * n + j] -= y[i] * y[j];
        return d;
    }

    private static double[] negated(double[] x) {
        for (int i = 0; i < x.length; i++) x[i] = -x[i];
        return x;
    }

    private static void assertClose(double[] want, double[] got, double tol, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], tol, what + " [" + i + "]");
    }
}
