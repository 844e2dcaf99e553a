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
 * The MPS adapter (paper Appendix IX): ΔW = (α/r)·B·A_mps with
 * A[r, i1·d2+i2] = Σ_c core1[r,c,i1]·core2[c,0,i2]. Kept as its factors.
 */
final class MpsDelta extends DeltaRule {

    MpsDelta(Checkpoint ckpt) {
        super(ckpt);
    }

    @Override
    String moduleSuffix() { return AdapterTensors.MPS_MODULE_SUFFIX; }

    @Override
    DeltaMatrix assemble(Located loc) {
        AdapterConfig cfg = ckpt.adapter().orElseThrow();
        TensorSource src = ckpt.tensors();
        String c1 = AdapterTensors.mpsCore1(loc.prefix());
        String c2 = AdapterTensors.mpsCore2(loc.prefix());
        String bName = AdapterTensors.mpsB(loc.prefix());
        TensorInfo t1 = src.info(c1);
        TensorInfo t2 = src.info(c2);
        TensorInfo tb = src.info(bName);
        if (t1.rank() != 3 || t2.rank() != 3 || t2.dim(1) != 1 || t1.dim(1) != t2.dim(0)) {
            throw new CheckpointException(src.location(), c2, "MPS core shape mismatch",
                    "need core1 [r, chi, d1] and core2 [chi, 1, d2], got " + Arrays.toString(t1.shape())
                            + " and " + Arrays.toString(t2.shape()));
        }
        requireMatrix(tb);
        int r = (int) t1.dim(0);
        int chi = (int) t1.dim(1);
        int d1 = (int) t1.dim(2);
        int d2 = (int) t2.dim(2);
        if (tb.dim(1) != r) {
            throw new CheckpointException(src.location(), bName, "MPS A/B shape mismatch",
                    "mps_B is " + Arrays.toString(tb.shape()) + " but core1 has r=" + r);
        }
        String moduleName = AdapterTensors.peftModuleName(loc.prefix());
        if (cfg.rankFor(moduleName) != r) {
            throw new CheckpointException(src.location(), c1, "r in config != tensor rank",
                    "adapter_config.json gives r=" + cfg.rankFor(moduleName) + ", core1 has r=" + r);
        }
        int[] inf = cfg.inFactors();
        if (inf != null && (inf.length != 2 || inf[0] != d1 || inf[1] != d2)) {
            throw new CheckpointException(src.location(), c1, "in_factors mismatch",
                    "adapter_config.json in_factors " + Arrays.toString(inf) + " vs cores [" + d1 + ", " + d2 + "]");
        }
        double[] a = contractCores(src.readDoubles(c1), src.readDoubles(c2), r, chi, d1, d2);
        double[] bs = scaled(src.readDoubles(bName), cfg.scalingFor(moduleName));
        DeltaMatrix.LowRank f = new DeltaMatrix.LowRank(bs, a, r);
        return DeltaMatrix.lowRank(loc.layer(), loc.module(), (int) tb.dim(0), d1 * d2, f, zeroWarning(f));
    }

    /**
     * The MPS adapter's A_mps [r, d1·d2] from its two cores (paper Appendix IX):
     * A[q, i1·d2 + i2] = Σ_c core1[q, c, i1] · core2[c, 0, i2].
     */
    static double[] contractCores(double[] core1, double[] core2, int r, int chi, int d1, int d2) {
        int in = d1 * d2;
        double[] a = new double[r * in];
        for (int q = 0; q < r; q++) {
            for (int c = 0; c < chi; c++) {
                for (int i1 = 0; i1 < d1; i1++) {
                    double g = core1[(q * chi + c) * d1 + i1];
                    if (g == 0) continue;
                    int row = q * in + i1 * d2;
                    int c2off = c * d2;
                    for (int i2 = 0; i2 < d2; i2++) a[row + i2] += g * core2[c2off + i2];
                }
            }
        }
        return a;
    }
}
