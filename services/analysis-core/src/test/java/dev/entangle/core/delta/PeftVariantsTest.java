package dev.entangle.core.delta;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shapes of adapter_config.json PEFT writes (peft.tuners.lora.config.LoraConfig): target_modules
 * as a list, a regex or "all-linear", layers_to_transform as an int or a list (with or without
 * layers_pattern), modules_to_save. Each one's adapter is read; tensors of a module the config
 * does not adapt are refused.
 */
class PeftVariantsTest {

    @TempDir
    Path tmp;

    /** LoRA tensors for q_proj and v_proj of layers 0..layers-1, plus lm_head as modules_to_save writes it. */
    Path adapter(String name, int layers, String configExtra) throws IOException {
        Path d = Files.createDirectories(tmp.resolve(name));
        SafetensorsWriter w = new SafetensorsWriter();
        for (int i = 0; i < layers; i++) {
            for (String m : List.of("q_proj", "v_proj")) {
                String p = "base_model.model.model.layers." + i + ".self_attn." + m;
                w.add(p + ".lora_A.weight", DType.F32, new long[]{2, 6}, () -> 0.5);
                w.add(p + ".lora_B.weight", DType.F32, new long[]{4, 2}, () -> 0.25);
            }
        }
        w.add("base_model.model.lm_head.weight", DType.F32, new long[]{3, 6}, () -> 1);
        w.write(d.resolve("adapter_model.safetensors"));
        Files.writeString(d.resolve("adapter_config.json"), "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":4" + configExtra + "}");
        return d;
    }

    static List<String> targets(Path d) {
        try (Checkpoint c = Checkpoint.open(d)) {
            return DeltaAssembler.deltasPresent(c, null, List.of("q_proj", "v_proj")).stream().map(DeltaMatrix::key).toList();
        }
    }

    static String refusal(Path d) {
        try (Checkpoint c = Checkpoint.open(d)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> DeltaAssembler.deltasPresent(c, null, List.of("q_proj", "v_proj")));
            assertEquals("module not targeted", e.rule(), e.getMessage());
            assertTrue(e.getMessage().contains("adapter_config.json"), "names the config: " + e.getMessage());
            return e.getMessage();
        }
    }

    @Test
    void targetModulesAsAListARegexOrAllLinear() throws IOException {
        List<String> all = List.of("layers.0.q_proj", "layers.0.v_proj", "layers.1.q_proj", "layers.1.v_proj");
        assertEquals(all, targets(adapter("list", 2, ",\"target_modules\":[\"q_proj\",\"v_proj\"]")));
        assertEquals(all, targets(adapter("all-linear", 2, ",\"target_modules\":\"all-linear\"")));
        assertEquals(all, targets(adapter("regex", 2, ",\"target_modules\":\".*\\\\.(q_proj|v_proj)\"")));
        assertEquals(all, targets(adapter("dotted", 2, ",\"target_modules\":[\"self_attn.q_proj\",\"v_proj\"]")));
        assertEquals(all, targets(adapter("absent", 2, "")));
        assertTrue(refusal(adapter("list-q", 2, ",\"target_modules\":[\"q_proj\"]")).contains("v_proj"));
        assertTrue(refusal(adapter("regex-q", 2, ",\"target_modules\":\".*q_proj\"")).contains("v_proj"));
    }

    @Test
    void layersToTransformAsAnIntOrAListWithOrWithoutLayersPattern() throws IOException {
        // PEFT adapts only the listed layers, so only their tensors are written
        assertEquals(List.of("layers.0.q_proj", "layers.0.v_proj"), targets(adapter("int", 1, ",\"layers_to_transform\":0")));
        assertEquals(List.of("layers.0.q_proj", "layers.0.v_proj", "layers.1.q_proj", "layers.1.v_proj"),
                targets(adapter("list", 2, ",\"layers_to_transform\":[0,1],\"layers_pattern\":\"layers\"")));
        assertTrue(refusal(adapter("not-listed", 2, ",\"layers_to_transform\":[0]")).contains("layers_to_transform [0]"));
        assertTrue(refusal(adapter("pattern", 2, ",\"layers_to_transform\":[1],\"layers_pattern\":[\"layers\"]")).contains("layer 0"));
    }

    @Test
    void modulesToSaveAreReportedNotProfiled() throws IOException {
        Path d = adapter("mts", 1, ",\"target_modules\":[\"q_proj\",\"v_proj\"],\"modules_to_save\":[\"lm_head\"]");
        try (Checkpoint c = Checkpoint.open(d)) {
            assertTrue(c.modulesToSaveNote().orElseThrow().contains("lm_head"));
            assertEquals(List.of("layers.0.q_proj", "layers.0.v_proj"),
                    DeltaAssembler.deltasPresent(c, null, List.of("q_proj", "v_proj")).stream().map(DeltaMatrix::key).toList());
        }
        try (Checkpoint c = Checkpoint.open(adapter("no-mts", 1, ""))) {
            assertTrue(c.modulesToSaveNote().isEmpty());
        }
    }
}
