package dev.entangle.core.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.CheckpointException;

import java.nio.file.Path;
import java.util.List;

/** A base must be the same architecture as the fine-tuned model: these config.json fields agree. */
public final class Architecture {

    /** The config.json fields that fix the shapes of the weights. */
    static final List<String> FIELDS = List.of("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "intermediate_size", "head_dim");

    private Architecture() {}

    /** Refuses a base whose config disagrees with the model's on any of {@link #FIELDS} both give. */
    public static void requireSame(JsonNode config, JsonNode baseConfig, Path baseWhere, Path where) {
        for (String field : FIELDS) {
            JsonNode x = config.get(field);
            JsonNode y = baseConfig.get(field);
            if (x != null && y != null && !x.equals(y)) {
                throw new CheckpointException(baseWhere, null, "base of another architecture",
                        field + " is " + y + " in the base but " + x + " in " + where);
            }
        }
    }
}
