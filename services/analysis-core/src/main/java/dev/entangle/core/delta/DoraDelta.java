package dev.entangle.core.delta;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.AdapterConfig;
import dev.entangle.core.checkpoint.AdapterTensors;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.core.checkpoint.ModuleTensors;
import dev.entangle.core.checkpoint.ModuleTensors.Located;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.TensorInfo;
import dev.entangle.core.safetensors.TensorSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * PEFT DoRA (weight-decomposed LoRA, Liu et al. 2024): the merged weight is
 * W' = m ⊙ (W₀ + s·B·A) / ‖W₀ + s·B·A‖ with the norm taken over each output row (PEFT's
 * {@code DoraLinearLayer.get_weight_norm}: {@code torch.linalg.norm(W, dim=1)} of the [out, in]
 * weight) and m = {@code lora_magnitude_vector} [out], so
 * ΔW = m ⊙ (W₀ + s·B·A) / ‖W₀ + s·B·A‖ − W₀ = (c − 1) ⊙ W₀ + c ⊙ s·B·A, c = m / ‖·‖ per row.
 * It is dense (the row rescaling of W₀ is not low-rank) and needs the base W₀. With
 * fan_in_fan_out W₀ is stored [in, out] and ΔW is returned in that layout, as for LoRA.
 */
final class DoraDelta extends DeltaRule {

    /** ‖ΔW‖_F below this many unit roundoffs of ‖W₀‖_F (of the magnitude's dtype) is reported as rounding-level. */
    static final double ROUNDING_LEVEL_FACTOR = 10;

    private final Checkpoint base;

    DoraDelta(Checkpoint ckpt, Checkpoint base) {
        super(ckpt);
        this.base = base;
    }

    @Override
    String moduleSuffix() { return AdapterTensors.LORA_MODULE_SUFFIX; }

    @Override
    void requireInputs() {
        if (base == null) {
            throw new CheckpointException(ckpt.dir(), null, "missing base for DoRA",
                    "a DoRA adapter (use_dora) needs the base model (--base): ΔW = m ⊙ (W₀ + s·B·A)/‖W₀ + s·B·A‖ − W₀ depends on W₀");
        }
        if (base.kind() != CheckpointKind.FULL_MODEL) {
            throw new CheckpointException(base.dir(), null, "base is not a full model", "the base is a " + base.kind().method() + " checkpoint");
        }
    }

    /** The shape W₀ must have for these factors: [out, in], or [in, out] with fan_in_fan_out. */
    private static long[] baseShape(AdapterConfig cfg, LoraDelta.Factors f) {
        return cfg.fanInFanOut() ? new long[]{f.in(), f.out()} : new long[]{f.out(), f.in()};
    }

    /** The module's magnitude vector m, checked: a float vector [out], every value finite. */
    private static String magnitude(Checkpoint ckpt, Located loc, LoraDelta.Factors f) {
        TensorSource src = ckpt.tensors();
        String mName = AdapterTensors.doraMagnitude(src, loc.prefix());
        TensorInfo tm = src.info(mName);
        if (tm.rank() != 1 || tm.dim(0) != f.out() || !tm.dtype().floating()) {
            throw new CheckpointException(src.location(), mName, "DoRA magnitude shape mismatch",
                    "need a float vector [" + f.out() + "] (one magnitude per output row), got " + tm.dtype() + " " + Arrays.toString(tm.shape()));
        }
        src.requireFinite(mName);
        return mName;
    }

    private static CheckpointException otherBase(Path where, String tensor, LoraDelta.Factors f, String detail) {
        return new CheckpointException(where, tensor, "base of another architecture", detail + " for the DoRA module " + f.moduleName());
    }

    /**
     * Checks one module of a DoRA adapter without the base's values (ingest does, against a
     * registered base's stored shapes): A and B as LoRA's, m [out] finite, and W₀ of
     * {@code baseShape} (null: the base has no such weight; {@code baseWhere} names the base).
     */
    static void check(Checkpoint ckpt, Located loc, long[] baseShape, Path baseWhere) {
        AdapterConfig cfg = ckpt.adapter().orElseThrow();
        LoraDelta.Factors f = LoraDelta.factors(ckpt, loc);
        magnitude(ckpt, loc, f);
        long[] want = baseShape(cfg, f);
        if (baseShape == null) throw otherBase(baseWhere, null, f, "the base has no " + loc.target().key() + " weight");
        if (!Arrays.equals(baseShape, want)) {
            throw otherBase(baseWhere, loc.target().key(), f, "shape " + Arrays.toString(baseShape) + " in the base vs "
                    + Arrays.toString(want) + " from the adapter's A and B");
        }
    }

    @Override
    DeltaMatrix assemble(Located loc) {
        AdapterConfig cfg = ckpt.adapter().orElseThrow();
        LoraDelta.Factors f = LoraDelta.factors(ckpt, loc);
        TensorSource src = ckpt.tensors();
        String mName = magnitude(ckpt, loc, f);
        TensorInfo tm = src.info(mName);
        double[] m = src.readDoubles(mName);

        TensorSource w0src = base.tensors();
        Located b = ModuleTensors.locate(w0src, List.of(loc.module()), ModuleTensors.WEIGHT).get(loc.target().key());
        if (b == null) throw otherBase(w0src.location(), null, f, "the base has no " + loc.target().key() + " weight");
        String w0Name = b.prefix() + ".weight";
        TensorInfo t0 = w0src.info(w0Name);
        requireMatrix(t0);
        long[] want = baseShape(cfg, f);
        if (!Arrays.equals(t0.shape(), want)) {
            throw otherBase(w0src.location(), w0Name, f, "shape " + Arrays.toString(t0.shape()) + " in the base vs "
                    + Arrays.toString(want) + " from the adapter's A and B");
        }
        w0src.requireFinite(w0Name);
        double[] w0 = w0src.readDoubles(w0Name);
        if (cfg.fanInFanOut()) w0 = LoraDelta.transpose(w0, f.in(), f.out());   // to [out, in]

        int out = f.out();
        int in = f.in();
        int r = f.r();
        double s = f.scaling();
        double[] a = f.a();
        double[] bm = f.b();
        double[] d = new double[out * in];
        double nd = 0;
        double nw = 0;
        double[] v = new double[in];
        for (int i = 0; i < out; i++) {
            // V_i = W₀_i + s·(B·A)_i, then its norm
            System.arraycopy(w0, i * in, v, 0, in);
            for (int p = 0; p < r; p++) {
                double bip = s * bm[i * r + p];
                if (bip == 0) continue;
                int ap = p * in;
                for (int j = 0; j < in; j++) v[j] += bip * a[ap + j];
            }
            double norm2 = 0;
            for (int j = 0; j < in; j++) norm2 += v[j] * v[j];
            if (norm2 == 0) {
                throw new CheckpointException(src.location(), mName, "DoRA row of zero norm",
                        "row " + i + " of W₀ + s·B·A is zero, so m / ‖W₀ + s·B·A‖ is undefined");
            }
            double c = m[i] / Math.sqrt(norm2);
            for (int j = 0; j < in; j++) {
                double x = c * v[j] - w0[i * in + j];
                d[i * in + j] = x;
                nd += x * x;
                nw += w0[i * in + j] * w0[i * in + j];
            }
        }
        List<String> warnings = new ArrayList<>();
        DType dt = tm.dtype();
        if (nd == 0) {
            warnings.add("ΔW is identically zero (m equals the row norms of W₀ + s·B·A); the profile is undefined (reported as 0)");
        } else if (Math.sqrt(nd) <= ROUNDING_LEVEL_FACTOR * dt.unitRoundoff() * Math.sqrt(nw)) {
            warnings.add(String.format(Locale.ROOT,
                    "ΔW is at %s rounding level of W₀: ||ΔW||_F / ||W₀||_F = %.3g <= %.0f x unit roundoff %.3g of the stored magnitude; "
                            + "the profile reflects rounding as much as training", dt, Math.sqrt(nd / nw), ROUNDING_LEVEL_FACTOR, dt.unitRoundoff()));
        }
        if (cfg.fanInFanOut()) {
            return DeltaMatrix.dense(loc.layer(), loc.module(), in, out, LoraDelta.transpose(d, out, in), warnings);
        }
        return DeltaMatrix.dense(loc.layer(), loc.module(), out, in, d, warnings);
    }
}
