package dev.entangle.ingest.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.entangle.core.CheckpointException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** A trainer's JSON report beside the weights (trainer_state.json, trainer_event.json): one object, or absent. */
final class TrainerJson {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private TrainerJson() {}

    /** The file's object; empty when there is no such file; a refusal naming it when it is not a JSON object. */
    static Optional<JsonNode> readObject(Path f) {
        if (!Files.isRegularFile(f)) return Optional.empty();
        JsonNode n;
        try {
            n = JSON.readTree(f.toFile());
        } catch (IOException e) {
            throw new CheckpointException(f, null, "invalid JSON", e.getMessage().lines().findFirst().orElse(""), e);
        }
        if (n == null || !n.isObject()) throw new CheckpointException(f, null, "not a JSON object", null);
        return Optional.of(n);
    }
}
