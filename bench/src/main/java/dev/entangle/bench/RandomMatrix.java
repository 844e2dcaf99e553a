package dev.entangle.bench;

import java.util.Random;

/** The benches' inputs: standard Gaussian entries from a seed (a random matrix's spectrum, row-major). */
final class RandomMatrix {

    private RandomMatrix() {}

    static double[] gaussian(int n, long seed) {
        Random r = new Random(seed);
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = r.nextGaussian();
        return x;
    }

    /** The same entries rounded to float32, as the numpy and torch anchors draw theirs. */
    static double[] float32Gaussian(int n, long seed) {
        double[] x = gaussian(n, seed);
        for (int i = 0; i < n; i++) x[i] = (float) x[i];
        return x;
    }
}
