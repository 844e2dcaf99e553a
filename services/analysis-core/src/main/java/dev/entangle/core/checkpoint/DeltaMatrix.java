package dev.entangle.core.checkpoint;

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

    private final String key;
    private final int layer;
    private final String module;
    private final int rows;
    private final int cols;
    private final LowRank lowRank;
    private final List<String> warnings;
    private double[] dense;

    private DeltaMatrix(String key, int layer, String module, int rows, int cols, double[] dense, LowRank lowRank,
                        List<String> warnings) {
        this.key = key;
        this.layer = layer;
        this.module = module;
        this.rows = rows;
        this.cols = cols;
        this.dense = dense;
        this.lowRank = lowRank;
        this.warnings = List.copyOf(warnings);
    }

    /** A dense update (full fine-tuning: W − W_base). */
    public static DeltaMatrix dense(int layer, String module, int rows, int cols, double[] data, List<String> warnings) {
        return new DeltaMatrix(key(layer, module), layer, module, rows, cols, data, null, warnings);
    }

    /** A low-rank update ΔW = left·right (adapters, scale folded into one factor). */
    public static DeltaMatrix lowRank(int layer, String module, int rows, int cols, LowRank factors, List<String> warnings) {
        return new DeltaMatrix(key(layer, module), layer, module, rows, cols, null, factors, warnings);
    }

    /** "layers.{i}.{module}", the name profiles are reported under. */
    public static String key(int layer, String module) {
        return "layers." + layer + "." + module;
    }

    public String key() { return key; }

    public int layer() { return layer; }

    public String module() { return module; }

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
        if (dense == null) dense = DeltaAssembler.matmul(lowRank.left(), rows, lowRank.r(), lowRank.right(), cols);
        return dense;
    }
}
