package dev.entangle.core.delta;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.Architecture;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.core.checkpoint.ModuleTensors;
import dev.entangle.core.checkpoint.ModuleTensors.Located;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.TensorInfo;
import dev.entangle.core.safetensors.TensorSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Full fine-tuning: ΔW = W − W_base, with a warning where ΔW sits at the stored dtype's rounding level. */
final class FullFineTuningDelta extends DeltaRule {

    /** ‖ΔW‖_F below this many unit roundoffs of ‖W‖_F is reported as rounding-level. */
    static final double ROUNDING_LEVEL_FACTOR = 10;

    private final Checkpoint base;

    FullFineTuningDelta(Checkpoint ckpt, Checkpoint base) {
        super(ckpt);
        this.base = base;
    }

    @Override
    String moduleSuffix() { return ModuleTensors.WEIGHT; }

    @Override
    void requireInputs() {
        if (base == null) {
            throw new CheckpointException(ckpt.dir(), null, "missing base for FFT",
                    "a full fine-tuning checkpoint needs --base BASE_DIR to form ΔW = W − W_base");
        }
        if (base.kind() != CheckpointKind.FULL_MODEL) {
            throw new CheckpointException(base.dir(), null, "base is not a full model",
                    "the base is a " + base.kind().method() + " checkpoint");
        }
        Architecture.requireSame(ckpt.config(), base.config(), base.dir().resolve(Checkpoint.MODEL_CONFIG), ckpt.dir());
    }

    @Override
    DeltaMatrix assemble(Located loc) {
        TensorSource w = ckpt.tensors();
        TensorSource w0 = base.tensors();
        String name = loc.prefix() + ".weight";
        TensorInfo t = w.info(name);
        requireMatrix(t);
        if (!w0.contains(name)) {
            throw new CheckpointException(w0.location(), name, "base of another architecture", "the base has no such tensor");
        }
        TensorInfo t0 = w0.info(name);
        if (!Arrays.equals(t.shape(), t0.shape())) {
            throw new CheckpointException(w0.location(), name, "base of another architecture",
                    "shape " + Arrays.toString(t0.shape()) + " in the base vs " + Arrays.toString(t.shape()));
        }
        double[] a = w.readDoubles(name);
        double[] b = w0.readDoubles(name);
        double[] d = new double[a.length];
        double nw = 0;
        double nd = 0;
        int zeros = 0;
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i] - b[i];
            nw += a[i] * a[i];
            nd += d[i] * d[i];
            if (d[i] == 0) zeros++;
        }
        List<String> warnings = new ArrayList<>();
        DType dt = t.dtype();
        if (nd == 0) {
            warnings.add("ΔW is identically zero: the checkpoint equals the base; the profile is undefined (reported as 0)");
        } else if (dt.halfPrecision()
                && Math.sqrt(nd) <= ROUNDING_LEVEL_FACTOR * dt.unitRoundoff() * Math.sqrt(nw)) {
            warnings.add(String.format(Locale.ROOT,
                    "ΔW is at %s rounding level of W: ||ΔW||_F / ||W||_F = %.3g <= %.0f x unit roundoff %.3g; "
                            + "%.1f%% of entries are exactly 0, so the profile reflects quantisation as much as training",
                    dt, Math.sqrt(nd / nw), ROUNDING_LEVEL_FACTOR, dt.unitRoundoff(), 100.0 * zeros / d.length));
        }
        return DeltaMatrix.dense(loc.layer(), loc.module(), (int) t.dim(0), (int) t.dim(1), d, warnings);
    }
}
