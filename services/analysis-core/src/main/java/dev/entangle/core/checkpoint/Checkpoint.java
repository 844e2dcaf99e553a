package dev.entangle.core.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.ShardedSafetensors;
import dev.entangle.core.safetensors.TensorSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A checkpoint folder as a training job writes it, its kind detected from its files:
 * <ul>
 *   <li>{@code adapter_config.json} with {@code peft_type: LORA} or {@code MPS} → adapter,
 *       weights in {@code adapter_model.safetensors};</li>
 *   <li>{@code config.json} + {@code model.safetensors} (or a sharded
 *       {@code model.safetensors.index.json}, or {@code model-*.safetensors}) → full model.</li>
 * </ul>
 * Other files (README.md, tokenizer files, trainer state) are ignored and pickles (optimizer and
 * scheduler state, RNG state, training arguments) never opened; weights stored only as pickle
 * ({@code *.bin}, {@code *.pt}) are refused ({@link CheckpointFiles}).
 */
public final class Checkpoint implements AutoCloseable {

    public static final String ADAPTER_CONFIG = "adapter_config.json";
    public static final String ADAPTER_WEIGHTS = "adapter_model.safetensors";
    public static final String MODEL_CONFIG = "config.json";
    public static final String MODEL_WEIGHTS = "model.safetensors";
    public static final String MODEL_INDEX = "model.safetensors.index.json";
    public static final String ATTENTION_PROBE = "attention_probe.safetensors";
    public static final String TRAINER_EVENT = "trainer_event.json";

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Path dir;
    private final CheckpointKind kind;
    private final TensorSource tensors;
    private final AdapterConfig adapter;
    private final JsonNode config;

    private Checkpoint(Path dir, CheckpointKind kind, TensorSource tensors, AdapterConfig adapter, JsonNode config) {
        this.dir = dir;
        this.kind = kind;
        this.tensors = tensors;
        this.adapter = adapter;
        this.config = config;
    }

    /**
     * A checkpoint whose tensors come from elsewhere (e.g. blobs fetched from the object store):
     * {@code config} is the adapter_config.json or config.json content as stored.
     */
    public static Checkpoint of(Path dir, CheckpointKind kind, JsonNode config, TensorSource tensors) {
        AdapterConfig adapter = kind == CheckpointKind.FULL_MODEL ? null : AdapterConfig.parse(dir.resolve(ADAPTER_CONFIG), config);
        return new Checkpoint(dir, kind, tensors, adapter, config);
    }

    public static Checkpoint open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException(dir, null, "not a checkpoint folder", "no such directory");
        }
        Path adapterConfig = dir.resolve(ADAPTER_CONFIG);
        if (Files.isRegularFile(adapterConfig)) return openAdapter(dir, adapterConfig);
        Path config = dir.resolve(MODEL_CONFIG);
        if (Files.isRegularFile(config)) return openFullModel(dir, config);
        throw new CheckpointException(dir, null, "not a checkpoint folder",
                "expected adapter_config.json (PEFT adapter) or config.json + model*.safetensors (full model)");
    }

    private static Checkpoint openAdapter(Path dir, Path configFile) {
        JsonNode root = readJson(configFile);
        AdapterConfig cfg = AdapterConfig.parse(configFile, root);
        CheckpointKind kind = switch (cfg.peftType()) {
            case "LORA" -> cfg.useDora() ? CheckpointKind.DORA : CheckpointKind.LORA;
            case "MPS" -> CheckpointKind.MPS;
            default -> throw new CheckpointException(configFile, null, "unsupported peft_type",
                    "'" + cfg.peftType() + "' (supported: LORA, MPS)");
        };
        Path weights = dir.resolve(ADAPTER_WEIGHTS);
        if (!Files.isRegularFile(weights)) {
            refusePickleWeights(dir, "adapter_model");
            throw new CheckpointException(weights, null, "adapter weights missing", "adapter_config.json has no adapter_model.safetensors beside it");
        }
        return new Checkpoint(dir, kind, SafetensorsFile.open(weights), cfg, root);
    }

    private static Checkpoint openFullModel(Path dir, Path configFile) {
        JsonNode config = readJson(configFile);
        Path index = dir.resolve(MODEL_INDEX);
        Path single = dir.resolve(MODEL_WEIGHTS);
        TensorSource source;
        if (Files.isRegularFile(index)) {
            source = ShardedSafetensors.open(index);
        } else if (Files.isRegularFile(single)) {
            source = SafetensorsFile.open(single);
        } else {
            List<Path> shards = list(dir).filter(p -> {
                String n = p.getFileName().toString();
                return n.startsWith("model-") && n.endsWith(".safetensors");
            }).toList();
            if (shards.size() == 1) {
                source = SafetensorsFile.open(shards.getFirst());
            } else {
                refusePickleWeights(dir, "pytorch_model");
                throw new CheckpointException(dir, null, "model weights missing",
                        shards.isEmpty() ? "config.json but no model.safetensors or model.safetensors.index.json"
                                : shards.size() + " model-*.safetensors shards but no model.safetensors.index.json");
            }
        }
        return new Checkpoint(dir, CheckpointKind.FULL_MODEL, source, null, config);
    }

    private static void refusePickleWeights(Path dir, String stem) {
        CheckpointFiles.refusePickleWeights(dir, list(dir).map(p -> p.getFileName().toString()).toList(), stem);
    }

    private static Stream<Path> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return new ArrayList<>(s.sorted().toList()).stream();
        } catch (IOException e) {
            throw new CheckpointException(dir, null, "unreadable folder", e.getMessage(), e);
        }
    }

    static JsonNode readJson(Path file) {
        try {
            JsonNode n = JSON.readTree(Files.readString(file));
            if (n == null || !n.isObject()) throw new CheckpointException(file, null, "not a JSON object", null);
            return n;
        } catch (IOException e) {
            String msg = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
            throw new CheckpointException(file, null, "invalid JSON", msg, e);
        }
    }

    public Path dir() { return dir; }

    public CheckpointKind kind() { return kind; }

    public TensorSource tensors() { return tensors; }

    /** The adapter config, present for LORA and MPS checkpoints. */
    public Optional<AdapterConfig> adapter() { return Optional.ofNullable(adapter); }

    /** config.json of a full model, present for FULL_MODEL checkpoints. */
    public Optional<JsonNode> modelConfig() { return kind == CheckpointKind.FULL_MODEL ? Optional.of(config) : Optional.empty(); }

    /** The checkpoint's config as written: adapter_config.json for adapters, config.json for full models. */
    public JsonNode config() { return config; }

    /**
     * The adapter's modules_to_save (trained whole and stored beside the adapter, e.g. a new
     * classification head): named in reports, not profiled — they are no update of a base weight
     * that the adapter factors into.
     */
    public Optional<String> modulesToSaveNote() {
        if (adapter == null || adapter.modulesToSave().isEmpty()) return Optional.empty();
        return Optional.of("modules_to_save " + adapter.modulesToSave() + " are trained whole and stored with the adapter; reported, not profiled");
    }

    /** The attention probe beside the weights, if the training job captured one. */
    public Optional<Path> attentionProbe() {
        Path p = dir.resolve(ATTENTION_PROBE);
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }

    @Override
    public void close() {
        tensors.close();
    }
}
