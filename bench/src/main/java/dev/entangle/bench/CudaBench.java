package dev.entangle.bench;

import dev.entangle.core.engine.cuda.CudaLinearAlgebra;
import dev.entangle.core.spectrum.CutSpectra;
import dev.entangle.core.spectrum.Entropies;
import dev.entangle.core.tensor.Tensorisation;

import java.util.Locale;

/**
 * The CUDA engine's speed on a GPU machine, where only a Java runtime, analysis-core's own
 * classes and the bench's travel (no ND4J natives: the device tool carries 64 MiB at most).
 * Exact profiles over every cut of Gaussian matrices (f32-rounded, as the numpy/torch anchors
 * draw them), medians of repeats after a warm-up, and a Llama-3.1-8B-shaped FFT checkpoint
 * (32 ΔW of 4096², 32 of 1024 × 4096). Prints the middle-cut entropy of each shape to set beside numpy's or torch's.
 *
 * <p>usage: java --enable-native-access=ALL-UNNAMED -cp CLASSES dev.entangle.bench.CudaBench [REPEATS],
 * CLASSES holding analysis-core's classes and the bench's (bench/gpu/carry.sh, see bench/gpu/README.md)
 */
public final class CudaBench {

    private CudaBench() {}

    public static void main(String[] args) {
        int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        if (!CudaLinearAlgebra.available()) {
            System.err.println("no CUDA engine here: " + CudaLinearAlgebra.unavailableReason());
            System.exit(2);
        }
        CutSpectra spectra = new CutSpectra(CudaLinearAlgebra.shared());
        double[] m2048 = RandomMatrix.float32Gaussian(2048 * 2048, 0), m4096 = RandomMatrix.float32Gaussian(4096 * 4096, 1),
                m1024x4096 = RandomMatrix.float32Gaussian(1024 * 4096, 2);
        for (double[][] shape : new double[][][]{{m2048, {2048, 2048}}, {m4096, {4096, 4096}}, {m1024x4096, {1024, 4096}}}) {
            int rows = (int) shape[1][0], cols = (int) shape[1][1];
            int[] sites = Tensorisation.sites(rows, cols);
            double[] s = profile(spectra, shape[0], sites);   // warm-up
            double median = Timing.medianSeconds(repeats, () -> profile(spectra, shape[0], sites));
            System.out.printf(Locale.ROOT, "cuda-ffm %dx%d exact profile: median %.4f s over %d  mid S=%.6f%n",
                    rows, cols, median, repeats, s[s.length / 2]);
        }
        // A Llama-3.1-8B FFT checkpoint's 64 ΔW (q 4096², v 1024 × 4096 per layer, 32 layers), one after another.
        int[] qSites = Tensorisation.sites(4096, 4096), vSites = Tensorisation.sites(1024, 4096);
        long t0 = System.nanoTime();
        for (int layer = 0; layer < 32; layer++) {
            profile(spectra, m4096, qSites);
            profile(spectra, m1024x4096, vSites);
        }
        System.out.printf(Locale.ROOT, "cuda-ffm llama-3.1-8b-shaped FFT checkpoint (64 ΔW): %.2f s%n", (System.nanoTime() - t0) / 1e9);
    }

    static double[] profile(CutSpectra spectra, double[] v, int[] sites) {
        double[][] sq = spectra.squaredSingularValues(v, sites);
        double[] s = new double[sq.length];
        for (int i = 0; i < sq.length; i++) s[i] = Entropies.vonNeumann(Entropies.normalise(sq[i]));
        return s;
    }
}
