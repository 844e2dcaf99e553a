package dev.entangle.core.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.ShardedSafetensors;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Which files of a checkpoint folder matter, by name alone — the one rule the local reader, the
 * CLI's upload, registration from the object store and the object-store watch share. A folder
 * as HF Trainer writes it ({@code checkpoint-N/}) holds the weights and their configs, the
 * trainer's own state ({@code trainer_state.json}, read for step and losses), tokenizer files
 * and a model card (ignored), and Python pickles ({@code optimizer.pt}, {@code scheduler.pt},
 * {@code rng_state.pth}, {@code training_args.bin}): pickles can run code when loaded, so they are
 * never opened, never fetched and never stored — only weights that exist solely as pickles are
 * refused.
 */
public final class CheckpointFiles {

    /** HF Trainer's state, written last into each checkpoint folder: global_step and log_history. */
    public static final String TRAINER_STATE = "trainer_state.json";

    private static final Set<String> NEEDED_JSON = Set.of(Checkpoint.ADAPTER_CONFIG, Checkpoint.MODEL_CONFIG, Checkpoint.MODEL_INDEX,
            TRAINER_STATE, Checkpoint.TRAINER_EVENT);

    private CheckpointFiles() {}

    /** A Python pickle (by its name): never opened. */
    public static boolean isPickle(String name) {
        return SafetensorsFile.isPickleName(fileName(name));
    }

    /**
     * A file analysis reads: every safetensors file (weights, shards, the attention probe) and the
     * configs, index and trainer reports, directly in the folder. Nothing else is uploaded or fetched.
     */
    public static boolean needed(String relativePath) {
        if (relativePath.contains("/") || relativePath.contains("\\")) return false;
        return relativePath.endsWith(".safetensors") || NEEDED_JSON.contains(relativePath);
    }

    /** The pickles among these names, sorted. */
    public static List<String> pickles(Collection<String> names) {
        return names.stream().filter(CheckpointFiles::isPickle).map(CheckpointFiles::fileName).sorted().distinct().toList();
    }

    /** The one line that says the pickles were left alone, or empty when there are none. */
    public static Optional<String> picklesNote(Collection<String> names) {
        List<String> p = pickles(names);
        if (p.isEmpty()) return Optional.empty();
        return Optional.of("not opened, not stored: " + String.join(", ", p)
                + " (pickle files can run code when loaded; optimizer, scheduler and RNG state are not needed to measure ΔW)");
    }

    /**
     * What a folder with these file names still lacks before it is a whole checkpoint (empty:
     * complete): an adapter needs its config and {@code adapter_model.safetensors}; a full model
     * its config.json and {@code model.safetensors}, one {@code model-*.safetensors}, or every
     * shard its index names ({@code readJson} reads the index by name). Weights that exist only as
     * pickles are refused (CheckpointException naming {@code dir}'s pickle), complete or not.
     */
    public static List<String> missing(Path dir, Collection<String> names, Function<String, JsonNode> readJson) {
        Set<String> n = new TreeSet<>();
        for (String s : names) if (!s.contains("/")) n.add(s);
        List<String> missing = new ArrayList<>();
        if (n.contains(Checkpoint.ADAPTER_CONFIG)) {
            if (!n.contains(Checkpoint.ADAPTER_WEIGHTS)) {
                refusePickleWeights(dir, n, "adapter_model");
                missing.add(Checkpoint.ADAPTER_WEIGHTS);
            }
            return missing;
        }
        if (n.contains(Checkpoint.MODEL_CONFIG)) {
            if (n.contains(Checkpoint.MODEL_INDEX)) {
                for (String shard : ShardedSafetensors.shardNames(dir.resolve(Checkpoint.MODEL_INDEX), readJson.apply(Checkpoint.MODEL_INDEX))) {
                    if (!n.contains(shard)) missing.add(shard);
                }
                return missing;
            }
            if (n.contains(Checkpoint.MODEL_WEIGHTS)) return missing;
            List<String> shards = n.stream().filter(CheckpointFiles::isModelShard).toList();
            if (shards.size() == 1) return missing;
            refusePickleWeights(dir, n, "pytorch_model");
            missing.add(shards.isEmpty() ? Checkpoint.MODEL_WEIGHTS : Checkpoint.MODEL_INDEX);
            return missing;
        }
        refusePickleWeights(dir, n, "adapter_model");
        refusePickleWeights(dir, n, "pytorch_model");
        if (n.contains(Checkpoint.ADAPTER_WEIGHTS)) missing.add(Checkpoint.ADAPTER_CONFIG);
        else if (n.stream().anyMatch(s -> s.equals(Checkpoint.MODEL_WEIGHTS) || isModelShard(s))) missing.add(Checkpoint.MODEL_CONFIG);
        else missing.add(Checkpoint.ADAPTER_CONFIG + " + " + Checkpoint.ADAPTER_WEIGHTS + " (adapter) or " + Checkpoint.MODEL_CONFIG
                + " + model*.safetensors (full model)");
        return missing;
    }

    /** {@code model-*.safetensors}: a shard of a full model. */
    static boolean isModelShard(String name) {
        return name.startsWith("model-") && name.endsWith(".safetensors");
    }

    /** Weights kept only as a pickle ({@code stem*.bin|.pt|.pth}, no safetensors): refused, naming the file. */
    static void refusePickleWeights(Path dir, Collection<String> names, String stem) {
        names.stream().filter(s -> s.startsWith(stem) && isPickle(s)).sorted().findFirst().ifPresent(p -> {
            throw new CheckpointException(dir.resolve(p), null, "pickle format refused",
                    "the weights exist only as a pickle, which can execute code when loaded; save with safetensors (safe_serialization=True)");
        });
    }

    private static String fileName(String path) {
        int i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
        return i < 0 ? path : path.substring(i + 1);
    }
}
