package dev.entangle.ingest.core;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.CheckpointFiles;

import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code trainer_state.json}, as HF transformers' Trainer writes it into every
 * {@code checkpoint-N} folder (TrainerState.save_to_json, after the weights): {@code global_step}
 * and {@code log_history}, a list of the dicts Trainer.log appended, each with its {@code step}:
 * training entries carry {@code loss} (mean over the steps since the last log),
 * {@code learning_rate} and {@code grad_norm}; evaluation entries carry {@code eval_loss} (the
 * default metric_key_prefix "eval"). The value "at" a step is that of the last entry logged at or
 * before it that carries the key — the one logged at the step itself when logging and saving align.
 *
 * @param globalStep   global_step, or null when absent
 * @param trainLoss    "loss" at global_step
 * @param evalLoss     "eval_loss" at global_step
 * @param learningRate "learning_rate" at global_step (the scheduler's value then, not the configured peak)
 */
public record TrainerState(Long globalStep, Double trainLoss, Double evalLoss, Double learningRate) {

    public static Optional<TrainerState> read(Path checkpointDir) {
        Path f = checkpointDir.resolve(CheckpointFiles.TRAINER_STATE);
        Optional<JsonNode> read = TrainerJson.readObject(f);
        if (read.isEmpty()) return Optional.empty();
        JsonNode n = read.get();
        JsonNode gs = n.get("global_step");
        Long step = null;
        if (gs != null && !gs.isNull()) {
            if (!gs.isIntegralNumber() || !gs.canConvertToLong() || gs.longValue() < 0) {
                throw new CheckpointException(f, null, "invalid global_step", "expected a non-negative integer, got " + gs);
            }
            step = gs.longValue();
        }
        JsonNode history = n.get("log_history");
        if (history != null && !history.isNull() && !history.isArray()) {
            throw new CheckpointException(f, null, "invalid log_history", "expected a list of logged dicts");
        }
        return Optional.of(new TrainerState(step, at(f, history, step, "loss"), at(f, history, step, "eval_loss"),
                at(f, history, step, "learning_rate")));
    }

    /** The key's value in the last entry with step ≤ {@code step} (any step when unknown) that has it. */
    private static Double at(Path f, JsonNode history, Long step, String key) {
        if (history == null || history.isNull()) return null;
        Double found = null;
        long foundStep = Long.MIN_VALUE;
        for (JsonNode e : history) {
            JsonNode v = e.get(key);
            if (v == null || v.isNull()) continue;
            if (!v.isNumber()) throw new CheckpointException(f, null, "invalid log_history", key + " is not a number: " + v);
            JsonNode s = e.get("step");
            long at = s != null && s.canConvertToLong() ? s.longValue() : Long.MIN_VALUE;
            if (step != null && at > step) continue;
            if (at >= foundStep) {
                found = v.doubleValue();
                foundStep = at;
            }
        }
        return found;
    }
}
