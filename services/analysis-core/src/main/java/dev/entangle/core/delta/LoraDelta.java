package dev.entangle.core.delta;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.AdapterConfig;
import dev.entangle.core.checkpoint.AdapterTensors;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.ModuleTensors.Located;
import dev.entangle.core.safetensors.TensorInfo;
import dev.entangle.core.safetensors.TensorSource;

import java.util.Arrays;

/**
 * PEFT LoRA: ΔW = s·B·A with s = α/r (rsLoRA α/√r), rank_pattern / alpha_pattern per module,
 * transposed when fan_in_fan_out (PEFT's {@code LoraLayer.get_delta_weight}). Kept as its factors.
 */
final class LoraDelta extends DeltaRule {

    LoraDelta(Checkpoint ckpt) {
        super(ckpt);
    }

    @Override
    String moduleSuffix() { return AdapterTensors.LORA_MODULE_SUFFIX; }

    @Override
    DeltaMatrix assemble(Located loc) {
        AdapterConfig cfg = ckpt.adapter().orElseThrow();
        TensorSource src = ckpt.tensors();
        String aName = AdapterTensors.loraFactor(src, loc.prefix(), AdapterTensors.LORA_A);
        String bName = AdapterTensors.loraFactor(src, loc.prefix(), AdapterTensors.LORA_B);
        TensorInfo ta = src.info(aName);
        TensorInfo tb = src.info(bName);
        requireMatrix(ta);
        requireMatrix(tb);
        int r = (int) ta.dim(0);
        int in = (int) ta.dim(1);
        int outF = (int) tb.dim(0);
        if (tb.dim(1) != r) {
            throw new CheckpointException(src.location(), bName, "LoRA A/B shape mismatch",
                    "B is " + Arrays.toString(tb.shape()) + " but A is " + Arrays.toString(ta.shape()) + " (need B [out, r], A [r, in])");
        }
        String moduleName = AdapterTensors.peftModuleName(loc.prefix());
        int rCfg = cfg.rankFor(moduleName);
        if (rCfg != r) {
            throw new CheckpointException(src.location(), aName, "r in config != tensor rank",
                    "adapter_config.json gives r=" + rCfg + " for " + moduleName + ", lora_A has " + r + " rows");
        }
        double[] bs = scaled(src.readDoubles(bName), cfg.scalingFor(moduleName));
        double[] a = src.readDoubles(aName);
        // PEFT: transpose(B @ A, fan_in_fan_out) * scaling, and (B·A)ᵀ = Aᵀ·Bᵀ
        DeltaMatrix.LowRank f = cfg.fanInFanOut()
                ? new DeltaMatrix.LowRank(transpose(a, r, in), transpose(bs, outF, r), r)
                : new DeltaMatrix.LowRank(bs, a, r);
        int rows = cfg.fanInFanOut() ? in : outF;
        int cols = cfg.fanInFanOut() ? outF : in;
        return DeltaMatrix.lowRank(loc.layer(), loc.module(), rows, cols, f, zeroWarning(f));
    }

    static double[] transpose(double[] x, int rows, int cols) {
        double[] t = new double[x.length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j];
        return t;
    }
}
