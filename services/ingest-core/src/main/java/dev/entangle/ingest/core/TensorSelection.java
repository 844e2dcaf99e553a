package dev.entangle.ingest.core;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.checkpoint.AdapterTensors;
import dev.entangle.core.checkpoint.Architecture;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.ModuleTensors;
import dev.entangle.core.delta.DeltaAssembler;
import dev.entangle.core.delta.DeltaMatrix;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.TensorInfo;
import dev.entangle.core.safetensors.TensorSource;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.CheckpointManifest.Blob;
import dev.entangle.store.Layout;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What of a checkpoint is stored, checked before anything is: the tensors analysis reads, the
 * ΔW targets they give, and the attention probe (or null) with the layers it covers. Adapters
 * keep their factors; full models (FFT checkpoints and bases) the linear weights of the
 * configured modules.
 */
record TensorSelection(List<String> tensors, List<String> targets, Path probe, int probeLayers) {

    /** An adapter's tensors; every ΔW is formed once, so shapes, ranks, patterns and values are checked. */
    static TensorSelection adapter(Checkpoint ckpt) {
        TensorSource src = ckpt.tensors();
        Set<String> modules = new LinkedHashSet<>();
        List<String> names = new ArrayList<>();
        for (String n : src.names()) {
            if (!AdapterTensors.isAdapterTensor(n)) continue;
            names.add(n);
            AdapterTensors.moduleOf(n).ifPresent(modules::add);
        }
        if (modules.isEmpty()) {
            throw new CheckpointException(src.location(), null, "no adapter tensors", "no lora_A / mps_A tensors under layers.{i}");
        }
        List<DeltaMatrix> deltas = DeltaAssembler.deltas(ckpt, null, List.copyOf(modules));
        return withProbe(ckpt, names, deltas.stream().map(DeltaMatrix::key).toList());
    }

    /**
     * A DoRA adapter's tensors (A, B and each module's magnitude m), checked against the
     * registered base's stored shapes: ΔW itself needs W₀'s values, which the profiler reads from
     * the base's blobs. Only what the base keeps can be measured (its registered modules).
     */
    static TensorSelection dora(Checkpoint ckpt, String baseId, CheckpointManifest base) {
        List<String> names = ckpt.tensors().names().stream().filter(AdapterTensors::isAdapterTensor).sorted().toList();
        Map<String, long[]> shapes = new TreeMap<>();
        base.tensors().forEach((name, b) -> {
            try {
                shapes.put(ModuleTensors.targetOfWeight(name).key(), b.shape().stream().mapToLong(Long::longValue).toArray());
            } catch (IllegalArgumentException notALayerWeight) {
                // a base keeps only layers.{i}.{module}.weight tensors; anything else has no target
            }
        });
        List<String> targets = DeltaAssembler.checkDora(ckpt, shapes, Path.of(Layout.baseManifest(baseId)));
        return withProbe(ckpt, names, targets);
    }

    /**
     * A full fine-tuning checkpoint's weights, against the registered base's manifest (same
     * architecture, shapes): the target modules' W for ΔW, and every other weight up to the last
     * layer's attention for the forward pass (the embeddings, every layer's norms and projections;
     * not the last MLP, the final norm or the output head, which nothing here reads).
     */
    static TensorSelection fullModel(Checkpoint ckpt, List<String> modules, String baseId, CheckpointManifest base) {
        if (base.config() != null) {
            Architecture.requireSame(ckpt.config(), base.config(), Path.of(Layout.baseManifest(baseId)), ckpt.dir());
        }
        List<String> names = weights(ckpt, modules);
        for (String n : names) {
            TensorInfo t = ckpt.tensors().info(n);
            Blob b = base.tensors().get(n);
            if (b == null || !b.shape().equals(Arrays.stream(t.shape()).boxed().toList())) {
                throw new CheckpointException(ckpt.tensors().location(), n, "base of another architecture",
                        b == null ? "base '" + baseId + "' has no such tensor" : "shape " + b.shape() + " in the base vs " + Arrays.toString(t.shape()));
            }
            ckpt.tensors().requireFinite(n);
        }
        List<String> kept = new ArrayList<>(names);
        for (String n : upToLastAttention(ckpt.tensors().names())) {
            if (kept.contains(n)) continue;
            ckpt.tensors().requireFinite(n);
            kept.add(n);
        }
        return withProbe(ckpt, kept, names.stream().map(n -> ModuleTensors.targetOfWeight(n).key()).toList());
    }

    /** A base model's tensors, every one (every value finite); bases carry no probe. */
    static TensorSelection base(Checkpoint ckpt) {
        List<String> names = ckpt.tensors().names().stream().sorted().toList();
        for (String t : names) ckpt.tensors().requireFinite(t);
        return new TensorSelection(names, List.of(), null, 0);
    }

    private static final Pattern LAYER_TENSOR = Pattern.compile("(?:.*\\.)?layers\\.(\\d+)\\.(.+)");

    /** The tensors a forward pass through the last layer's attention reads: embeddings and layers, without the last MLP. */
    static List<String> upToLastAttention(Set<String> names) {
        int last = -1;
        for (String n : names) {
            Matcher m = LAYER_TENSOR.matcher(n);
            if (m.matches()) last = Math.max(last, Integer.parseInt(m.group(1)));
        }
        List<String> out = new ArrayList<>();
        for (String n : names.stream().sorted().toList()) {
            Matcher m = LAYER_TENSOR.matcher(n);
            if (m.matches()) {
                String part = m.group(2);
                boolean afterAttention = part.startsWith("mlp.") || part.startsWith("post_attention_layernorm.");
                if (Integer.parseInt(m.group(1)) < last || !afterAttention) out.add(n);
            } else if (n.contains("embed_tokens.")) {
                out.add(n);
            }
        }
        return out;
    }

    private static List<String> weights(Checkpoint ckpt, List<String> modules) {
        List<String> names = ModuleTensors.weights(ckpt.tensors(), modules);
        if (names.isEmpty()) {
            throw new CheckpointException(ckpt.tensors().location(), null, "target module not found",
                    "no layers.{i}.{" + String.join(",", modules) + "}.weight tensors");
        }
        return names;
    }

    /**
     * With the checkpoint's probe, checked whole: header, dtype sizes and offsets by the format's
     * rules, the declared attention geometry against every tensor, and every value finite. The
     * profiler plans one attention and one XXᵀ unit for each layer 0..n−1 it covers.
     */
    private static TensorSelection withProbe(Checkpoint ckpt, List<String> names, List<String> targets) {
        Path p = ckpt.attentionProbe().orElse(null);
        if (p == null) return new TensorSelection(names, targets, null, 0);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            int[] layers = AttentionProbe.of(f).layers();
            for (String n : f.names()) f.requireFinite(n);
            return new TensorSelection(names, targets, p, layers[layers.length - 1] + 1);
        }
    }
}
