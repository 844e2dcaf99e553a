package dev.entangle.store;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * What an ingest stored for one checkpoint (or base model): the method, the hyper-parameters
 * and metrics the training job reported, the configs analysis needs, and every stored tensor
 * by name with its blob. Written as JSON at {@link Layout#checkpointManifest}.
 *
 * @param id        checkpoint id (sha256 over run, step and the content), or the base model's name
 * @param method    lora | mps | fft (analysis-core's CheckpointKind method names) | {@value #BASE_METHOD}
 * @param baseId    the registered base model an FFT checkpoint is measured against
 * @param config    adapter_config.json (adapters) or config.json (full models), verbatim
 * @param tensors   tensor name → blob
 * @param probe     the attention probe's blob, or null
 * @param probeLayers decoder layers the probe covers (0 without a probe)
 * @param targets   "layers.{i}.{module}" ΔW targets found at ingest
 * @param tenant    the tenant that owns the run (tenancy on), else null
 * @param probeSets a base model's probe sequences, on which the profiler runs the forward pass of
 *                  each checkpoint on this base that has no probe of its own (bases only; else null)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CheckpointManifest(int schema, String id, String run, Long step, String method, String baseId,
                                 Hyper hyper, Metrics metrics, JsonNode config, Map<String, Blob> tensors, Blob probe,
                                 int probeLayers, List<String> targets, long createdAtMs, String tenant,
                                 List<ProbeSet> probeSets) {

    public static final int SCHEMA = 1;
    /** The method of a registered base model's manifest. */
    public static final String BASE_METHOD = "base";
    public static final JsonMapper JSON = JsonMapper.builder().build();

    /** A stored blob: its key, size and digest; dtype/shape for tensors. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Blob(String key, String sha256, long bytes, String dtype, List<Long> shape) {}

    /** Hyper-parameters as the training job and the adapter config give them (null when unknown). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Hyper(Integer r, Double loraAlpha, Boolean rslora, Integer bondDim, Double learningRate) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Metrics(Double trainLoss, Double testLoss) {}

    /**
     * A probe sequence registered with a base model: its id (analysis-core's
     * {@code ProbeTokens.setId()}, "tokens-" and the sequence's digest) and its token ids.
     */
    public record ProbeSet(String id, List<Integer> inputIds) {}

    /** The base's probe sets, none when it has none. */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public List<ProbeSet> probeSetsOrEmpty() { return probeSets == null ? List.of() : probeSets; }

    /** Whether this is a registered base model's manifest (not a training checkpoint's). */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isBase() { return BASE_METHOD.equals(method); }

    public byte[] toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(this);
        } catch (IOException e) {
            throw new IllegalStateException("manifest not serialisable", e);
        }
    }

    public static CheckpointManifest fromJson(byte[] json) throws IOException {
        return JSON.readValue(json, CheckpointManifest.class);
    }
}
