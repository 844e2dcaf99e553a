package dev.entangle.core.delta;

import dev.entangle.core.profile.Target;

import java.util.List;
import java.util.Optional;

/**
 * A weight update ΔW of one linear module, in double, PyTorch layout [out, in], row-major.
 * Adapter updates keep their factors (ΔW = left·right with inner dimension r) so that profiles
 * can use the low rank; the dense matrix is formed only when asked for.
 */
public final class DeltaMatrix {

    /** ΔW = left·right: left is rows × r, right is r × cols, both row-major. */
    public record LowRank(double[] left, double[] right, int r) {}

    private final Target.Delta target;
    private final int rows;
    private final int cols;
    private final LowRank lowRank;
    private final List<String> warnings;
    private double[] dense;

    private DeltaMatrix(Target.Delta target, int rows, int cols, double[] dense, LowRank lowRank, List<String> warnings) {
        this.target = target;
        this.rows = rows;
        this.cols = cols;
        this.dense = dense;
        this.lowRank = lowRank;
        this.warnings = List.copyOf(warnings);
    }

    /** A dense update (full fine-tuning: W − W_base). */
    public static DeltaMatrix dense(int layer, String module, int rows, int cols, double[] data, List<String> warnings) {
        return new DeltaMatrix(Target.delta(layer, module), rows, cols, data, null, warnings);
    }

    /** A low-rank update ΔW = left·right (adapters, scale folded into one factor). */
    public static DeltaMatrix lowRank(int layer, String module, int rows, int cols, LowRank factors, List<String> warnings) {
        return new DeltaMatrix(Target.delta(layer, module), rows, cols, null, factors, warnings);
    }

    /** The target this ΔW is reported under. */
    public Target.Delta target() { return target; }

    /** "layers.{i}.{module}", the name profiles are reported under. */
    public String key() { return target.key(); }

    public int layer() { return target.layer(); }

    public String module() { return target.module(); }

    /** Out features. */
    public int rows() { return rows; }

    /** In features. */
    public int cols() { return cols; }

    /** The adapter rank r, or 0 for a dense (FFT) update. */
    public int rank() { return lowRank == null ? 0 : lowRank.r(); }

    public Optional<LowRank> lowRank() { return Optional.ofNullable(lowRank); }

    /** What the user must know about this ΔW (e.g. it sits at the dtype's rounding level). */
    public List<String> warnings() { return warnings; }

    /** The dense ΔW, row-major (formed from the factors on first use). */
    public synchronized double[] data() {
        if (dense == null) dense = matmul(lowRank.left(), rows, lowRank.r(), lowRank.right(), cols);
        return dense;
    }

    /** C = X·Y for row-major X (m × k) and Y (k × n); k is the small adapter rank. */
    static double[] matmul(double[] x, int m, int k, double[] y, int n) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            int ci = i * n;
            for (int p = 0; p < k; p++) {
                double v = x[i * k + p];
                if (v == 0) continue;
                int yp = p * n;
                for (int j = 0; j < n; j++) c[ci + j] += v * y[yp + j];
            }
        }
        return c;
    }
}
