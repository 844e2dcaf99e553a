package dev.entangle.core.delta;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.ModuleTensors;
import dev.entangle.core.checkpoint.ModuleTensors.Located;
import dev.entangle.core.safetensors.TensorInfo;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * How one kind of checkpoint forms ΔW of a linear module, one class per kind as PEFT's
 * {@code get_delta_weight} is one method per layer type: full fine-tuning (W − W_base), LoRA
 * (s·B·A), DoRA (m ⊙ (W₀ + s·B·A)/‖·‖ − W₀) and the MPS adapter (s·B·A_mps).
 * {@link DeltaAssembler} picks the rule.
 */
abstract sealed class DeltaRule permits FullFineTuningDelta, LoraDelta, DoraDelta, MpsDelta {

    final Checkpoint ckpt;

    DeltaRule(Checkpoint ckpt) {
        this.ckpt = ckpt;
    }

    /** The rule of the checkpoint's kind ({@code base}: W_base of full fine-tuning and DoRA, else unused). */
    static DeltaRule of(Checkpoint ckpt, Checkpoint base) {
        return switch (ckpt.kind()) {
            case FULL_MODEL -> new FullFineTuningDelta(ckpt, base);
            case LORA -> new LoraDelta(ckpt);
            case DORA -> new DoraDelta(ckpt, base);
            case MPS -> new MpsDelta(ckpt);
        };
    }

    /** The regex after a module's prefix that marks the module in this kind's tensors. */
    abstract String moduleSuffix();

    /** Checks what forming any ΔW needs besides the module's own tensors (full fine-tuning, DoRA: the base). */
    void requireInputs() {}

    /** ΔW of one located module. */
    abstract DeltaMatrix assemble(Located module);

    /** The modules of these names the checkpoint has, by target name. */
    final Map<String, Located> locate(List<String> modules) {
        return ModuleTensors.locate(ckpt.tensors(), modules, moduleSuffix());
    }

    static void requireMatrix(TensorInfo t) {
        if (t.rank() != 2 || t.dim(0) == 0 || t.dim(1) == 0) {
            throw new CheckpointException(t.file(), t.name(), "not a matrix",
                    "need a non-empty 2-D tensor, got shape " + Arrays.toString(t.shape()));
        }
        if (!t.dtype().floating()) {
            throw new CheckpointException(t.file(), t.name(), "not a float tensor", "dtype " + t.dtype());
        }
    }

    /** An all-zero factor (LoRA's B at initialisation) makes ΔW vanish. */
    static List<String> zeroWarning(DeltaMatrix.LowRank f) {
        if (!allZero(f.left()) && !allZero(f.right())) return List.of();
        return List.of("ΔW is identically zero (an adapter at initialisation has B = 0); the profile is undefined (reported as 0)");
    }

    private static boolean allZero(double[] x) {
        for (double v : x) if (v != 0) return false;
        return true;
    }

    /** Scales a factor in place by PEFT's scaling s (α/r, or α/√r with rsLoRA). */
    static double[] scaled(double[] x, double s) {
        for (int i = 0; i < x.length; i++) x[i] *= s;
        return x;
    }
}
