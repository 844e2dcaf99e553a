package dev.entangle.core.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.TensorInfo;
import dev.entangle.core.safetensors.TensorSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Assembles ΔW of the target modules of every layer, in double whatever the stored dtype:
 * <ul>
 *   <li>FFT: ΔW = W − W_base;</li>
 *   <li>LoRA: ΔW = s·B·A with s = α/r (rsLoRA α/√r), rank_pattern / alpha_pattern per module,
 *       transposed when fan_in_fan_out (PEFT's get_delta_weight);</li>
 *   <li>MPS adapter: ΔW = (α/r)·B·A_mps with A[r, i1·d2+i2] = Σ_c core1[r,c,i1]·core2[c,0,i2].</li>
 * </ul>
 */
public final class DeltaAssembler {

    public static final List<String> DEFAULT_MODULES = List.of("q_proj", "v_proj");

    /** ‖ΔW‖_F below this many unit roundoffs of ‖W‖_F is reported as rounding-level. */
    static final double ROUNDING_LEVEL_FACTOR = 10;

    private DeltaAssembler() {}

    /** ΔW of each requested module of every layer, ordered by layer then by the modules' order. */
    public static List<DeltaMatrix> deltas(Checkpoint ckpt, Checkpoint base, List<String> modules) {
        return deltas(ckpt, base, modules, key -> true);
    }

    /**
     * ΔW of those of the given modules the checkpoint has (an adapter may target only some of
     * the defaults); refuses a checkpoint that has none of them.
     */
    public static List<DeltaMatrix> deltasPresent(Checkpoint ckpt, Checkpoint base, List<String> modules) {
        List<String> present = modules.stream().filter(m -> hasModule(ckpt, m)).toList();
        if (present.isEmpty()) {
            throw new CheckpointException(ckpt.tensors().location(), null, "target module not found",
                    "none of " + modules + " in this " + ckpt.kind().method() + " checkpoint");
        }
        return deltas(ckpt, base, present);
    }

    private static boolean hasModule(Checkpoint ckpt, String module) {
        String suffix = switch (ckpt.kind()) {
            case FULL_MODEL -> "\\.weight";
            case LORA -> "\\.lora_A(?:\\.[^.]+)?\\.weight";
            case MPS -> "\\.mps_A\\.core1";
        };
        return !locate(ckpt.tensors(), List.of(module), suffix).isEmpty();
    }

    /** ΔW of one target "layers.{i}.{module}" (reads only that target's tensors). */
    public static DeltaMatrix delta(Checkpoint ckpt, Checkpoint base, String key) {
        java.util.regex.Matcher m = Pattern.compile("layers\\.(\\d+)\\.([A-Za-z0-9_]+)").matcher(key);
        if (!m.matches()) throw new IllegalArgumentException("target '" + key + "' is not layers.{i}.{module}");
        List<DeltaMatrix> one = deltas(ckpt, base, List.of(m.group(2)), key::equals, false);
        if (one.isEmpty()) {
            throw new CheckpointException(ckpt.tensors().location(), null, "target module not found", "no tensors for " + key);
        }
        return one.getFirst();
    }

    private static List<DeltaMatrix> deltas(Checkpoint ckpt, Checkpoint base, List<String> modules,
                                            java.util.function.Predicate<String> keys) {
        return deltas(ckpt, base, modules, keys, true);
    }

    private static List<DeltaMatrix> deltas(Checkpoint ckpt, Checkpoint base, List<String> modules,
                                            java.util.function.Predicate<String> keys, boolean requireAll) {
        if (modules.isEmpty()) throw new IllegalArgumentException("no modules requested");
        for (String m : modules) {
            if (!m.matches("[A-Za-z0-9_]+")) {
                throw new CheckpointException(ckpt.dir(), null, "invalid module name", "'" + m + "'");
            }
        }
        List<DeltaMatrix> out = switch (ckpt.kind()) {
            case FULL_MODEL -> fullFineTuning(ckpt, base, modules, keys);
            case LORA -> lora(ckpt, modules, keys);
            case MPS -> mps(ckpt, modules, keys);
        };
        if (!requireAll) return out;
        for (String m : modules) {
            if (out.stream().noneMatch(d -> d.module().equals(m))) {
                throw new CheckpointException(ckpt.tensors().location(), null, "target module not found",
                        "no tensors for module '" + m + "' in this " + ckpt.kind().method() + " checkpoint");
            }
        }
        return out;
    }

    /** Module tensors located by name: key "layers.i.module" → the name prefix up to the module. */
    record Located(int layer, String module, String prefix) {}

    static Map<String, Located> locate(TensorSource src, List<String> modules, String suffixRegex) {
        String alt = String.join("|", modules.stream().map(Pattern::quote).toList());
        Pattern p = Pattern.compile("^((?:.*\\.)?layers\\.(\\d+)\\.(?:.*\\.)?(" + alt + "))" + suffixRegex + "$");
        Map<String, Located> found = new TreeMap<>();
        for (String name : src.names()) {
            Matcher m = p.matcher(name);
            if (!m.matches()) continue;
            int layer = Integer.parseInt(m.group(2));
            String key = DeltaMatrix.key(layer, m.group(3));
            Located prev = found.put(key, new Located(layer, m.group(3), m.group(1)));
            if (prev != null && !prev.prefix().equals(m.group(1))) {
                throw new CheckpointException(src.location(), name, "ambiguous module",
                        "both " + prev.prefix() + " and " + m.group(1) + " map to " + key);
            }
        }
        return found;
    }

    private static List<Located> ordered(Map<String, Located> found, List<String> modules,
                                        java.util.function.Predicate<String> keys) {
        List<Located> l = new ArrayList<>(found.entrySet().stream().filter(e -> keys.test(e.getKey())).map(Map.Entry::getValue).toList());
        l.sort(Comparator.comparingInt(Located::layer).thenComparingInt(x -> modules.indexOf(x.module())));
        return l;
    }

    // ---- FFT -------------------------------------------------------------------------------

    private static List<DeltaMatrix> fullFineTuning(Checkpoint ckpt, Checkpoint base, List<String> modules,
                                                    java.util.function.Predicate<String> keys) {
        if (base == null) {
            throw new CheckpointException(ckpt.dir(), null, "missing base for FFT",
                    "a full fine-tuning checkpoint needs --base BASE_DIR to form ΔW = W − W_base");
        }
        if (base.kind() != CheckpointKind.FULL_MODEL) {
            throw new CheckpointException(base.dir(), null, "base is not a full model",
                    "the base is a " + base.kind().method() + " checkpoint");
        }
        checkSameArchitecture(ckpt, base);
        TensorSource w = ckpt.tensors();
        TensorSource w0 = base.tensors();
        List<DeltaMatrix> out = new ArrayList<>();
        for (Located loc : ordered(locate(w, modules, "\\.weight"), modules, keys)) {
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
                warnings.add(String.format(java.util.Locale.ROOT,
                        "ΔW is at %s rounding level of W: ||ΔW||_F / ||W||_F = %.3g <= %.0f x unit roundoff %.3g; "
                                + "%.1f%% of entries are exactly 0, so the profile reflects quantisation as much as training",
                        dt, Math.sqrt(nd / nw), ROUNDING_LEVEL_FACTOR, dt.unitRoundoff(), 100.0 * zeros / d.length));
            }
            out.add(DeltaMatrix.dense(loc.layer(), loc.module(), (int) t.dim(0), (int) t.dim(1), d, warnings));
        }
        return out;
    }

    private static void checkSameArchitecture(Checkpoint ckpt, Checkpoint base) {
        requireSameArchitecture(ckpt.config(), base.config(), base.dir().resolve(Checkpoint.MODEL_CONFIG), ckpt.dir());
    }

    /** A base must be the same architecture as the fine-tuned model: these config.json fields agree. */
    public static void requireSameArchitecture(JsonNode config, JsonNode baseConfig, java.nio.file.Path baseWhere,
                                               java.nio.file.Path where) {
        for (String field : List.of("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "intermediate_size", "head_dim")) {
            JsonNode x = config.get(field);
            JsonNode y = baseConfig.get(field);
            if (x != null && y != null && !x.equals(y)) {
                throw new CheckpointException(baseWhere, null, "base of another architecture",
                        field + " is " + y + " in the base but " + x + " in " + where);
            }
        }
    }

    // ---- LoRA ------------------------------------------------------------------------------

    private static List<DeltaMatrix> lora(Checkpoint ckpt, List<String> modules, java.util.function.Predicate<String> keys) {
        AdapterConfig cfg = ckpt.adapter().orElseThrow();
        TensorSource src = ckpt.tensors();
        Map<String, Located> found = locate(src, modules, "\\.lora_A(?:\\.[^.]+)?\\.weight");
        List<DeltaMatrix> out = new ArrayList<>();
        for (Located loc : ordered(found, modules, keys)) {
            String aName = findAdapterTensor(src, loc.prefix(), "lora_A");
            String bName = findAdapterTensor(src, loc.prefix(), "lora_B");
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
            String moduleName = peftModuleName(loc.prefix());
            int rCfg = cfg.rankFor(moduleName);
            if (rCfg != r) {
                throw new CheckpointException(src.location(), aName, "r in config != tensor rank",
                        "adapter_config.json gives r=" + rCfg + " for " + moduleName + ", lora_A has " + r + " rows");
            }
            double scale = cfg.scalingFor(moduleName);
            double[] bs = src.readDoubles(bName);
            for (int i = 0; i < bs.length; i++) bs[i] *= scale;
            double[] a = src.readDoubles(aName);
            // PEFT: transpose(B @ A, fan_in_fan_out) * scaling, and (B·A)ᵀ = Aᵀ·Bᵀ
            DeltaMatrix.LowRank f = cfg.fanInFanOut()
                    ? new DeltaMatrix.LowRank(transpose(a, r, in), transpose(bs, outF, r), r)
                    : new DeltaMatrix.LowRank(bs, a, r);
            int rows = cfg.fanInFanOut() ? in : outF;
            int cols = cfg.fanInFanOut() ? outF : in;
            out.add(DeltaMatrix.lowRank(loc.layer(), loc.module(), rows, cols, f, zeroWarning(f)));
        }
        return out;
    }

    private static String findAdapterTensor(TensorSource src, String prefix, String part) {
        String plain = prefix + "." + part + ".weight";
        if (src.contains(plain)) return plain;
        String start = prefix + "." + part + ".";
        List<String> named = src.names().stream().filter(n -> n.startsWith(start) && n.endsWith(".weight")).toList();
        if (named.size() == 1) return named.getFirst();
        throw new CheckpointException(src.location(), plain, named.isEmpty() ? "tensor missing" : "ambiguous module",
                named.isEmpty() ? "LoRA needs both lora_A and lora_B" : "several adapters: " + named);
    }

    /** The module's name as PEFT's patterns see it: without the "base_model.model." wrapper. */
    static String peftModuleName(String prefix) {
        return prefix.startsWith("base_model.model.") ? prefix.substring("base_model.model.".length()) : prefix;
    }

    // ---- MPS adapter -----------------------------------------------------------------------

    private static List<DeltaMatrix> mps(Checkpoint ckpt, List<String> modules, java.util.function.Predicate<String> keys) {
        AdapterConfig cfg = ckpt.adapter().orElseThrow();
        TensorSource src = ckpt.tensors();
        Map<String, Located> found = locate(src, modules, "\\.mps_A\\.core1");
        List<DeltaMatrix> out = new ArrayList<>();
        for (Located loc : ordered(found, modules, keys)) {
            String c1 = loc.prefix() + ".mps_A.core1";
            String c2 = loc.prefix() + ".mps_A.core2";
            String bName = loc.prefix() + ".mps_B.weight";
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
            String moduleName = peftModuleName(loc.prefix());
            if (cfg.rankFor(moduleName) != r) {
                throw new CheckpointException(src.location(), c1, "r in config != tensor rank",
                        "adapter_config.json gives r=" + cfg.rankFor(moduleName) + ", core1 has r=" + r);
            }
            int[] inf = cfg.inFactors();
            if (inf != null && (inf.length != 2 || inf[0] != d1 || inf[1] != d2)) {
                throw new CheckpointException(src.location(), c1, "in_factors mismatch",
                        "adapter_config.json in_factors " + Arrays.toString(inf) + " vs cores [" + d1 + ", " + d2 + "]");
            }
            double[] core1 = src.readDoubles(c1);
            double[] core2 = src.readDoubles(c2);
            int in = d1 * d2;
            double[] a = contractMpsCores(core1, core2, r, chi, d1, d2);
            int outF = (int) tb.dim(0);
            double[] bs = src.readDoubles(bName);
            double scale = cfg.scalingFor(moduleName);
            for (int i = 0; i < bs.length; i++) bs[i] *= scale;
            DeltaMatrix.LowRank f = new DeltaMatrix.LowRank(bs, a, r);
            out.add(DeltaMatrix.lowRank(loc.layer(), loc.module(), outF, in, f, zeroWarning(f)));
        }
        return out;
    }

    /**
     * The MPS adapter's A_mps [r, d1·d2] from its two cores (paper Appendix IX):
     * A[q, i1·d2 + i2] = Σ_c core1[q, c, i1] · core2[c, 0, i2].
     */
    public static double[] contractMpsCores(double[] core1, double[] core2, int r, int chi, int d1, int d2) {
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

    // ---- helpers ---------------------------------------------------------------------------

    private static void requireMatrix(TensorInfo t) {
        if (t.rank() != 2 || t.dim(0) == 0 || t.dim(1) == 0) {
            throw new CheckpointException(t.file(), t.name(), "not a matrix",
                    "need a non-empty 2-D tensor, got shape " + Arrays.toString(t.shape()));
        }
        if (!t.dtype().floating()) {
            throw new CheckpointException(t.file(), t.name(), "not a float tensor", "dtype " + t.dtype());
        }
    }

    /** An all-zero factor (LoRA's B at initialisation) makes ΔW vanish. */
    private static List<String> zeroWarning(DeltaMatrix.LowRank f) {
        if (!allZero(f.left()) && !allZero(f.right())) return List.of();
        return List.of("ΔW is identically zero (an adapter at initialisation has B = 0); the profile is undefined (reported as 0)");
    }

    private static boolean allZero(double[] x) {
        for (double v : x) if (v != 0) return false;
        return true;
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

    static double[] transpose(double[] x, int rows, int cols) {
        double[] t = new double[x.length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j];
        return t;
    }
}
