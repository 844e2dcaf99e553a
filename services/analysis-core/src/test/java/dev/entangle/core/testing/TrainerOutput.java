package dev.entangle.core.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checkpoint folders shaped as HF transformers' Trainer writes them during training
 * ({@code output_dir/checkpoint-N/}, Trainer._save_checkpoint): the fixture's weights and configs
 * (adapter or full model), {@code trainer_state.json} with {@code global_step} and a
 * {@code log_history} of training entries ({@code loss}, {@code grad_norm}, {@code learning_rate})
 * and evaluation entries ({@code eval_loss}), the four pickles ({@code optimizer.pt},
 * {@code scheduler.pt}, {@code rng_state.pth}, {@code training_args.bin}), tokenizer files and the
 * model card — and no {@code trainer_event.json}, which no trainer writes. The losses are the
 * fixture run's {@code losses.json}; the learning rate decays linearly from {@link #PEAK_LR}.
 */
public final class TrainerOutput {

    public static final double PEAK_LR = 1e-3;
    public static final long MAX_STEPS = 200;
    public static final List<String> PICKLES = List.of("optimizer.pt", "scheduler.pt", "rng_state.pth", "training_args.bin");
    public static final List<String> TOKENIZER = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json");

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private TrainerOutput() {}

    /** The learning rate logged at a step (linear decay, as get_linear_schedule_with_warmup without warm-up). */
    public static double learningRate(long step) {
        return PEAK_LR * (1 - (double) step / MAX_STEPS);
    }

    /** The fixture run's losses: step → {train_loss, test_loss}. */
    public static Map<Long, double[]> losses(String fixtureRun) throws IOException {
        Map<Long, double[]> out = new LinkedHashMap<>();
        for (JsonNode e : JSON.readTree(Fixtures.root().resolve("runs/" + fixtureRun + "/losses.json").toFile())) {
            out.put(e.get("step").longValue(), new double[]{e.get("train_loss").doubleValue(), e.get("test_loss").doubleValue()});
        }
        return out;
    }

    /**
     * Writes {@code outputDir/checkpoint-STEP/} from fixture checkpoint {@code runs/RUN/checkpoint-STEP};
     * {@code probe}: also copy the attention probe (entangle's own, not HF's). Returns the folder.
     */
    public static Path write(Path outputDir, String fixtureRun, long step, boolean probe) throws IOException {
        Path src = Fixtures.root().resolve("runs/" + fixtureRun + "/checkpoint-" + step);
        Path dir = Files.createDirectories(outputDir.resolve("checkpoint-" + step));
        for (String f : List.of("adapter_model.safetensors", "adapter_config.json", "model.safetensors", "config.json",
                "generation_config.json", "README.md")) {
            if (Files.exists(src.resolve(f))) Files.copy(src.resolve(f), dir.resolve(f));
        }
        if (probe) Files.copy(src.resolve("attention_probe.safetensors"), dir.resolve("attention_probe.safetensors"));
        Files.write(dir.resolve(TRAINER_STATE), trainerState(fixtureRun, step));
        for (String p : PICKLES) Files.write(dir.resolve(p), pickle(p));
        Files.writeString(dir.resolve("tokenizer.json"), "{\"version\":\"1.0\",\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\":256}");
        Files.writeString(dir.resolve("special_tokens_map.json"), "{\"eos_token\":\"</s>\"}");
        return dir;
    }

    static final String TRAINER_STATE = "trainer_state.json";

    /** trainer_state.json at {@code step}: one training and one evaluation entry per saved step up to it. */
    public static byte[] trainerState(String fixtureRun, long step) throws IOException {
        ObjectNode st = JSON.createObjectNode();
        st.putNull("best_metric");
        st.putNull("best_model_checkpoint");
        st.put("epoch", step / 50.0);
        st.put("eval_steps", 30);
        st.put("global_step", step);
        st.put("is_hyper_param_search", false);
        st.put("is_local_process_zero", true);
        st.put("is_world_process_zero", true);
        ArrayNode h = st.putArray("log_history");
        for (Map.Entry<Long, double[]> e : losses(fixtureRun).entrySet()) {
            long s = e.getKey();
            if (s > step) continue;
            ObjectNode train = h.addObject();
            train.put("epoch", s / 50.0);
            train.put("grad_norm", 0.5 + 0.01 * s);
            train.put("learning_rate", learningRate(s));
            train.put("loss", e.getValue()[0]);
            train.put("step", s);
            ObjectNode eval = h.addObject();
            eval.put("epoch", s / 50.0);
            eval.put("eval_loss", e.getValue()[1]);
            eval.put("eval_runtime", 0.1234);
            eval.put("eval_samples_per_second", 810.2);
            eval.put("eval_steps_per_second", 8.1);
            eval.put("step", s);
        }
        st.put("logging_steps", 10);
        st.put("max_steps", MAX_STEPS);
        st.put("num_input_tokens_seen", 0);
        st.put("num_train_epochs", 4);
        st.put("save_steps", 30);
        st.putObject("stateful_callbacks").putObject("TrainerControl").putObject("args").put("should_save", true);
        st.put("total_flos", 1.0e12);
        st.put("train_batch_size", 8);
        st.putNull("trial_name");
        st.putNull("trial_params");
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(st);
    }

    /** Bytes that start as torch.save's pickles do (protocol 2 opcode): never opened by entangle. */
    static byte[] pickle(String name) {
        byte[] tag = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] b = new byte[64 + tag.length];
        b[0] = (byte) 0x80;
        b[1] = 2;
        b[2] = 'c';
        System.arraycopy(tag, 0, b, 3, tag.length);
        return b;
    }
}
