package dev.entangle.ingest.core;

import dev.entangle.core.CheckpointException;
import dev.entangle.store.Layout;

import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What is known about a checkpoint's run — run, step, learning rate, train and test loss — read
 * from every source by one rule. For each field the first source that gives it wins:
 * <ol>
 *   <li>the caller: CLI flags, the upload or Register header, a checkpoint event's fields;</li>
 *   <li>{@code trainer_event.json}, written for entangle by the training job;</li>
 *   <li>{@code trainer_state.json}, HF Trainer's own: step = {@code global_step}; train loss,
 *       test loss and learning rate = {@code loss}, {@code eval_loss}, {@code learning_rate} of
 *       {@code log_history} at that step ({@link TrainerState});</li>
 *   <li>the folder's names: step from {@code checkpoint-N}; run from the output folder — the parent
 *       of a {@code checkpoint-N} folder, or the folder itself when it is not named so.</li>
 * </ol>
 * A source that is present but broken (invalid JSON, a step that is no integer) is refused, not
 * skipped. Hyper-parameters (r, α, rsLoRA, χ) come from the adapter config, which is what ΔW is
 * formed with ({@link CheckpointIngester}).
 */
public record TrainerReport(String run, long step, Double learningRate, Double trainLoss, Double testLoss) {

    static final Pattern CHECKPOINT_DIR = Pattern.compile("checkpoint-(\\d+)");

    /** Reads the reports in {@code dir} (the local copy); {@code source} is how the user names the folder. */
    static TrainerReport of(Path dir, CheckpointSource source, IngestRequest req, Optional<TrainerEvent> event) {
        Optional<TrainerState> state = TrainerState.read(dir);
        String run = first(Optional.ofNullable(req.run()), event.map(TrainerEvent::run), Optional.ofNullable(runFromFolders(source)));
        if (run == null) {
            throw new CheckpointException(dir, null, "run unknown",
                    "give --run, a trainer_event.json with \"run\", or put the checkpoint-N folder inside a folder named after the run");
        }
        if (req.run() != null) {
            Layout.requireName(run, "run");   // the caller's own argument: IllegalArgumentException, as any bad argument
        } else {
            try {
                Layout.requireName(run, "run");
            } catch (IllegalArgumentException e) {
                throw new CheckpointException(dir, null, "invalid run name", e.getMessage() + " (taken from the files or the folder's names; give --run)");
            }
        }
        Long step = first(Optional.ofNullable(req.step()), event.map(TrainerEvent::step), state.map(TrainerState::globalStep),
                Optional.ofNullable(stepFromFolder(source)));
        if (step == null) {
            throw new CheckpointException(dir, null, "step unknown",
                    "give --step, a trainer_state.json with global_step, a trainer_event.json with \"step\", or a folder named checkpoint-N");
        }
        return new TrainerReport(run, step,
                first(Optional.ofNullable(req.learningRate()), event.map(TrainerEvent::learningRate), state.map(TrainerState::learningRate)),
                first(Optional.ofNullable(req.trainLoss()), event.map(TrainerEvent::trainLoss), state.map(TrainerState::trainLoss)),
                first(Optional.ofNullable(req.testLoss()), event.map(TrainerEvent::testLoss), state.map(TrainerState::evalLoss)));
    }

    /** HF Trainer's layout: output_dir/checkpoint-N; a folder not named so is taken as the output folder itself. */
    static String runFromFolders(CheckpointSource s) {
        if (s.folder() == null) return null;
        return CHECKPOINT_DIR.matcher(s.folder()).matches() ? s.outputFolder() : s.folder();
    }

    static Long stepFromFolder(CheckpointSource s) {
        if (s.folder() == null) return null;
        Matcher m = CHECKPOINT_DIR.matcher(s.folder());
        return m.matches() ? Long.parseLong(m.group(1)) : null;
    }

    /** The first source that gives the field, in the order of the rule above. */
    @SafeVarargs
    private static <T> T first(Optional<T>... sources) {
        for (Optional<T> o : sources) if (o.isPresent()) return o.get();
        return null;
    }
}
