package dev.entangle.bench;

import java.util.Arrays;

/** How the benches report a time: the median of timed repeats (the caller runs its warm-up first). */
final class Timing {

    private Timing() {}

    /** Median wall-clock seconds of {@code repeats} runs of {@code timed}. */
    static double medianSeconds(int repeats, Runnable timed) {
        double[] t = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            long t0 = System.nanoTime();
            timed.run();
            t[i] = (System.nanoTime() - t0) / 1e9;
        }
        return median(t);
    }

    static double median(double[] t) {
        double[] s = t.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
