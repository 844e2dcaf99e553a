package dev.entangle.core.model;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.AdapterTensors;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.core.delta.DeltaAssembler;
import dev.entangle.core.delta.DeltaMatrix;
import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.profile.Target;
import dev.entangle.core.safetensors.TensorInfo;
import dev.entangle.core.safetensors.TensorSource;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The weights a forward pass runs on, read one decoder layer at a time into float32 (never more
 * than one layer's): a full model's own (a fully fine-tuned checkpoint, or a base), or an
 * adapter's base with every ΔW the adapter holds merged in, W = W0 + ΔW, ΔW formed by
 * {@link DeltaAssembler} under the adapter's own rule (LoRA with its scalings, MPS, and whatever
 * rule it learns next). Tensors are named as HF transformers writes a LlamaForCausalLM:
 * {@code model.embed_tokens.weight}, {@code model.layers.{i}.input_layernorm.weight},
 * {@code model.layers.{i}.self_attn.{q,k,v,o}_proj.{weight,bias}},
 * {@code model.layers.{i}.post_attention_layernorm.weight},
 * {@code model.layers.{i}.mlp.{gate,up,down}_proj.{weight,bias}} (a bare LlamaModel without the
 * {@code model.} prefix), and {@code lm_head.weight} standing in for tied embeddings saved only
 * under that name.
 */
public final class ModelWeights {

    /** A decoder layer's linear modules, in the order the forward pass uses them. */
    public static final List<String> LINEAR = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
    private static final List<String> ATTENTION = List.of("q_proj", "k_proj", "v_proj", "o_proj");

    /**
     * One decoder layer in float32, [out, in] row-major; biases null where the config has none;
     * with {@code attentionOnly} only the norm and q/k/v. Its arrays are the weights' own buffers,
     * filled again by the next {@link #layer} call: one layer's weights at a time, and no garbage.
     */
    public record Layer(float[] inputNorm, float[] q, float[] qBias, float[] k, float[] kBias, float[] v, float[] vBias,
                        float[] o, float[] oBias, float[] postNorm, float[] gate, float[] gateBias, float[] up, float[] upBias,
                        float[] down, float[] downBias) {}

    private final LlamaConfig config;
    private final TensorSource src;
    private final Checkpoint model;
    private final Checkpoint adapter;
    private final Set<String> changed;
    private final LinearAlgebra la;
    private final String prefix;
    /** The decode buffers by tensor role ("q_proj.weight", "input_layernorm"...), reused from layer to layer. */
    private final java.util.Map<String, float[]> buffers = new java.util.HashMap<>();

    private ModelWeights(LlamaConfig config, Checkpoint model, Checkpoint adapter, Set<String> changed, LinearAlgebra la) {
        this.config = config;
        this.model = model;
        this.src = model.tensors();
        this.adapter = adapter;
        this.changed = changed;
        this.la = la;
        this.prefix = src.contains("model.embed_tokens.weight") || src.contains("model.layers.0.input_layernorm.weight") ? "model." : "";
    }

    /**
     * The weights of {@code model} (a full model), with {@code adapter}'s ΔW merged in where an
     * adapter is given; every tensor the pass needs is checked (present, shape from config.json,
     * a float dtype) before any is read, and adapter tensors the pass cannot apply are refused.
     */
    public static ModelWeights of(LlamaConfig config, Checkpoint model, Checkpoint adapter, LinearAlgebra la) {
        if (model.kind() != CheckpointKind.FULL_MODEL) {
            throw new CheckpointException(model.dir(), null, "base is not a full model", "the forward pass needs a model's weights, got a "
                    + model.kind().method() + " checkpoint");
        }
        Set<String> changed = new HashSet<>();
        if (adapter != null) {
            requireApplicable(adapter);
            for (Target.Delta t : DeltaAssembler.targets(adapter, model, LINEAR)) changed.add(t.key());
        }
        ModelWeights w = new ModelWeights(config, model, adapter, changed, la);
        w.requireComplete();
        return w;
    }

    /** The modules whose ΔW the adapter merges in, "layers.{i}.{module}". */
    public Set<String> changedModules() { return Set.copyOf(changed); }

    /**
     * Every adapter tensor is a factor of a decoder layer's linear module (merged as ΔW) or of a
     * module past the last attention (lm_head: not needed); anything else (modules_to_save copies,
     * trained biases, embedding adapters) would change the pass in a way ΔW does not carry.
     */
    private static void requireApplicable(Checkpoint adapter) {
        TensorSource a = adapter.tensors();
        for (String name : a.names()) {
            if (!AdapterTensors.isAdapterTensor(name)) {
                throw new CheckpointException(a.location(), name, "adapter tensor the forward pass cannot apply",
                        "only ΔW factors of the decoder layers' linear modules " + LINEAR + " are merged into W0");
            }
            var module = AdapterTensors.moduleOf(name);
            if (module.isPresent() && !LINEAR.contains(module.get())) {
                throw new CheckpointException(a.location(), name, "adapter tensor the forward pass cannot apply",
                        "module '" + module.get() + "' is not one of the linear modules " + LINEAR);
            }
        }
    }

    private String tensor(int layer, String module, String part) {
        String block = ATTENTION.contains(module) ? "self_attn." : "mlp.";
        return prefix + "layers." + layer + "." + block + module + "." + part;
    }

    private String norm(int layer, String which) { return prefix + "layers." + layer + "." + which + ".weight"; }

    private String embeddingTensor() {
        String e = prefix + "embed_tokens.weight";
        if (!src.contains(e) && config.tiedEmbeddings() && src.contains("lm_head.weight")) return "lm_head.weight";
        return e;
    }

    /** [out, in] of a linear module by config.json. */
    private long[] shape(String module) {
        int h = config.hidden(), q = config.qWidth(), kv = config.kvWidth(), f = config.intermediate();
        return switch (module) {
            case "q_proj" -> new long[]{q, h};
            case "k_proj", "v_proj" -> new long[]{kv, h};
            case "o_proj" -> new long[]{h, q};
            case "gate_proj", "up_proj" -> new long[]{f, h};
            case "down_proj" -> new long[]{h, f};
            default -> throw new IllegalArgumentException(module);
        };
    }

    private boolean biased(String module) { return ATTENTION.contains(module) ? config.attentionBias() : config.mlpBias(); }

    private void requireComplete() {
        require(embeddingTensor(), new long[]{config.vocab(), config.hidden()}, "vocab_size, hidden_size");
        for (int layer = 0; layer < config.layers(); layer++) {
            boolean last = layer == config.layers() - 1;
            require(norm(layer, "input_layernorm"), new long[]{config.hidden()}, "hidden_size");
            if (!last) require(norm(layer, "post_attention_layernorm"), new long[]{config.hidden()}, "hidden_size");
            for (String m : LINEAR) {
                if (last && !List.of("q_proj", "k_proj", "v_proj").contains(m)) continue;   // nothing past the last attention
                long[] s = shape(m);
                require(tensor(layer, m, "weight"), s, "hidden_size, heads, head_dim, intermediate_size");
                if (biased(m)) require(tensor(layer, m, "bias"), new long[]{s[0]}, ATTENTION.contains(m) ? "attention_bias" : "mlp_bias");
            }
        }
    }

    private void require(String name, long[] shape, String fields) {
        if (!src.contains(name)) {
            throw new CheckpointException(src.location(), name, "weight missing",
                    "the forward pass of a " + config.modelType() + " model reads it (" + config.file().getFileName() + ")");
        }
        TensorInfo t = src.info(name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new CheckpointException(src.location(), name, "shape disagrees with config.json",
                    "expected " + Arrays.toString(shape) + " from " + fields + " in " + config.file() + ", got " + Arrays.toString(t.shape()));
        }
        if (!t.dtype().floating()) throw new CheckpointException(src.location(), name, "not a float tensor", "dtype " + t.dtype());
    }

    /** The embedding rows of the probe's tokens, [T, hidden] float32. */
    public float[] embeddings(int[] ids) {
        return src.readRowsFloat(embeddingTensor(), ids);
    }

    /** Layer {@code layer}'s weights; {@code attentionOnly}: just the input norm and q/k/v (the last layer). */
    public Layer layer(int layer, boolean attentionOnly) {
        float[] inNorm = read(norm(layer, "input_layernorm"), "input_layernorm");
        float[][] w = new float[LINEAR.size()][];
        float[][] b = new float[LINEAR.size()][];
        for (int i = 0; i < LINEAR.size(); i++) {
            String m = LINEAR.get(i);
            if (attentionOnly && i >= 3) break;
            w[i] = linear(layer, m);
            if (biased(m)) b[i] = read(tensor(layer, m, "bias"), m + ".bias");
        }
        float[] postNorm = attentionOnly ? null : read(norm(layer, "post_attention_layernorm"), "post_attention_layernorm");
        return new Layer(inNorm, w[0], b[0], w[1], b[1], w[2], b[2], w[3], b[3], postNorm, w[4], b[4], w[5], b[5], w[6], b[6]);
    }

    /** Lets the decode buffers go (a pass is over: what follows, the profiles, needs the heap). */
    public void release() {
        buffers.clear();
    }

    /** A tensor decoded into its role's buffer. */
    private float[] read(String name, String role) {
        int n = Math.toIntExact(src.info(name).elementCount());
        float[] buf = buffers.compute(role, (k, b) -> b != null && b.length == n ? b : new float[n]);
        src.readFloatsInto(name, buf);
        return buf;
    }

    /** W of a module in float32: the stored W, plus ΔW where the adapter changes the module (merged in double, then rounded). */
    private float[] linear(int layer, String module) {
        float[] w = read(tensor(layer, module, "weight"), module + ".weight");
        String key = Target.delta(layer, module).key();
        if (!changed.contains(key)) return w;
        DeltaMatrix d = DeltaAssembler.delta(adapter, model, key);
        long[] s = shape(module);
        if (d.rows() != s[0] || d.cols() != s[1]) {
            throw new CheckpointException(adapter.tensors().location(), key, "adapter shape disagrees with config.json",
                    "ΔW is " + d.rows() + "x" + d.cols() + ", " + tensor(layer, module, "weight") + " is " + s[0] + "x" + s[1]);
        }
        double[] dw = d.lowRank().map(f -> la.multiply(f.left(), d.rows(), f.r(), false, f.right(), f.r(), d.cols(), false))
                .orElseGet(d::data);
        for (int i = 0; i < w.length; i++) w[i] = (float) ((double) w[i] + dw[i]);
        return w;
    }
}
