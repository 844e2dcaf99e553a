package dev.entangle.store;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.entangle.store.CheckpointManifest.Blob;

import java.io.IOException;
import java.util.Map;

/**
 * The captures of a checkpoint's own forward pass on one probe set, as the profiler's forward
 * unit stored them at {@link Layout#forwardProbe}: the probe's {@code __metadata__} (its
 * attention geometry) and each captured tensor (q_raw, k_raw, attn_weights, attn_output per
 * layer; input_ids, position_ids) by name with the blob that holds it (one blob per layer's
 * shard, content-addressed). Written after every blob, so it is the commit point: a forward
 * pass killed before it leaves no record, and a retry or another replica reuses a complete one.
 *
 * @param probeSet the base's probe set the pass ran on
 * @param tokens   T, the sequence's length
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ForwardProbe(int schema, String checkpointId, String probeSet, int tokens, Map<String, String> metadata,
                           Map<String, Blob> tensors) {

    public static final int SCHEMA = 1;

    public byte[] toJson() {
        try {
            return CheckpointManifest.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(this);
        } catch (IOException e) {
            throw new IllegalStateException("forward probe record not serialisable", e);
        }
    }

    public static ForwardProbe fromJson(byte[] json) throws IOException {
        return CheckpointManifest.JSON.readValue(json, ForwardProbe.class);
    }
}
