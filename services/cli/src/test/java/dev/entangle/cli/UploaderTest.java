package dev.entangle.cli;

import dev.entangle.core.testing.DoraFixtures;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.core.testing.TrainerOutput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What of an HF Trainer folder the CLI sends, and the DoRA profile from the command line. */
class UploaderTest {

    @TempDir
    Path tmp;

    @Test
    void onlyTheWeightsTheirConfigsAndTheTrainersReportsTravel() throws Exception {
        Path ckpt = TrainerOutput.write(tmp.resolve("my-run"), "lora-r16-a16", 150, false);
        assertTrue(Files.exists(ckpt.resolve("optimizer.pt")) && Files.exists(ckpt.resolve("tokenizer.json")));
        assertEquals(List.of("adapter_config.json", "adapter_model.safetensors", "trainer_state.json"),
                Uploader.files(ckpt).stream().map(p -> p.getFileName().toString()).toList());
        String note = Uploader.picklesNote(ckpt).orElseThrow();
        assertTrue(note.startsWith("not opened, not stored: optimizer.pt, rng_state.pth, scheduler.pt, training_args.bin"), note);
    }

    @Test
    void aDoraAdapterIsProfiledAgainstItsBase() throws Exception {
        Path dora = DoraFixtures.write(tmp.resolve("dora/checkpoint-150"), 1);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = EntangleCommand.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        assertEquals(2, cl.execute("profile", dora.toString()), "no base: refused");
        assertTrue(err.toString().contains("missing base for DoRA"), err.toString());
        out.getBuffer().setLength(0);
        assertEquals(0, cl.execute("profile", dora.toString(), "--base", Fixtures.base().toString()), err.toString());
        var doc = com.fasterxml.jackson.databind.json.JsonMapper.builder().build().readTree(out.toString());
        assertEquals("dora", doc.get("checkpoint").get("method").asText());
        assertEquals(4, doc.get("deltas").size());
    }
}
