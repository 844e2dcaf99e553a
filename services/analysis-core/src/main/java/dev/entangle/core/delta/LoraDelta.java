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

    /**
     * One module's LoRA factors as stored, checked: A [r, in], B [out, r] (PyTorch layout, before
     * any fan_in_fan_out transpose) and PEFT's scaling s for the module.
     */
    record Factors(String moduleName, String aName, String bName, double[] a, double[] b, int r, int in, int out, double scaling) {}

    LoraDelta(Checkpoint ckpt) {
        super(ckpt);
    }

    @Override
    String moduleSuffix() { return AdapterTensors.LORA_MODULE_SUFFIX; }

    @Override
    DeltaMatrix assemble(Located loc) {
        AdapterConfig cfg = ckpt.adapter().orElseThrow();
        Factors f = factors(ckpt, loc);
        double[] bs = scaled(f.b(), f.scaling());
        // PEFT: transpose(B @ A, fan_in_fan_out) * scaling, and (B·A)ᵀ = Aᵀ·Bᵀ
        DeltaMatrix.LowRank lr = cfg.fanInFanOut()
                ? new DeltaMatrix.LowRank(transpose(f.a(), f.r(), f.in()), transpose(bs, f.out(), f.r()), f.r())
                : new DeltaMatrix.LowRank(bs, f.a(), f.r());
        int rows = cfg.fanInFanOut() ? f.in() : f.out();
        int cols = cfg.fanInFanOut() ? f.out() : f.in();
        return DeltaMatrix.lowRank(loc.layer(), loc.module(), rows, cols, lr, zeroWarning(lr));
    }

    /** Reads and checks a module's A and B against each other and the config (target, rank), shared with DoRA. */
    static Factors factors(Checkpoint ckpt, Located loc) {
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
        cfg.requireTargeted(moduleName, aName);
        int rCfg = cfg.rankFor(moduleName);
        if (rCfg != r) {
            throw new CheckpointException(src.location(), aName, "r in config != tensor rank",
                    "adapter_config.json gives r=" + rCfg + " for " + moduleName + ", lora_A has " + r + " rows");
        }
        return new Factors(moduleName, aName, bName, src.readDoubles(aName), src.readDoubles(bName), r, in, outF, cfg.scalingFor(moduleName));
    }

    static double[] transpose(double[] x, int rows, int cols) {
        double[] t = new double[x.length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j];
        return t;
    }
}
