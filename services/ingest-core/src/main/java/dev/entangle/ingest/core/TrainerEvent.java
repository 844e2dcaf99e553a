package dev.entangle.ingest.core;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.CheckpointException;

import java.nio.file.Path;
import java.util.Optional;

/** {@code trainer_event.json}: what the training job reports with a checkpoint (all fields optional). */
public record TrainerEvent(String run, String method, Long step, Double learningRate, Integer rank, Double loraAlpha,
                           Integer bondDim, Double trainLoss, Double testLoss) {

    public static final String FILE = "trainer_event.json";

    public static Optional<TrainerEvent> read(Path checkpointDir) {
        Path f = checkpointDir.resolve(FILE);
        Optional<JsonNode> read = TrainerJson.readObject(f);
        if (read.isEmpty()) return Optional.empty();
        JsonNode n = read.get();
        return Optional.of(new TrainerEvent(text(n, "run"), text(n, "method"), integer(f, n, "step"), number(f, n, "learning_rate"),
                intOrNull(f, n, "rank"), number(f, n, "lora_alpha"), intOrNull(f, n, "bond_dim"),
                number(f, n, "train_loss"), number(f, n, "test_loss")));
    }

    private static String text(JsonNode n, String k) {
        JsonNode v = n.get(k);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static Double number(Path f, JsonNode n, String k) {
        JsonNode v = n.get(k);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber()) throw new CheckpointException(f, null, "invalid " + k, "expected a number, got " + v);
        return v.doubleValue();
    }

    private static Long integer(Path f, JsonNode n, String k) {
        JsonNode v = n.get(k);
        if (v == null || v.isNull()) return null;
        if (!v.canConvertToLong() || !v.isIntegralNumber() || v.longValue() < 0) {
            throw new CheckpointException(f, null, "invalid " + k, "expected a non-negative integer, got " + v);
        }
        return v.longValue();
    }

    private static Integer intOrNull(Path f, JsonNode n, String k) {
        Long v = integer(f, n, k);
        return v == null ? null : Math.toIntExact(v);
    }
}
