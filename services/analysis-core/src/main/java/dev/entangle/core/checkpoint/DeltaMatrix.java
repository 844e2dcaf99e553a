package dev.entangle.core.checkpoint;

import java.util.List;

/**
 * A weight update ΔW of one linear module, in double, row-major in PyTorch layout [out, in].
 *
 * @param key      "layers.{i}.{module}", the name profiles are reported under
 * @param layer    decoder layer index
 * @param module   module name (q_proj, v_proj, ...)
 * @param rows     out features
 * @param cols     in features
 * @param data     row-major values
 * @param rank     the adapter rank r (LoRA/MPS), or 0 for FFT
 * @param warnings what the user must know about this ΔW (e.g. it sits at the dtype's rounding level)
 */
public record DeltaMatrix(String key, int layer, String module, int rows, int cols, double[] data, int rank,
                          List<String> warnings) {

    public DeltaMatrix {
        warnings = List.copyOf(warnings);
    }

    public static String key(int layer, String module) {
        return "layers." + layer + "." + module;
    }

    public double frobeniusNorm() {
        double s = 0;
        for (double x : data) s += x * x;
        return Math.sqrt(s);
    }
}
