package dev.entangle.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.entangle.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI contract other tools rely on: JSON on stdout, exit codes, one-line errors. */
class ProfileCommandTest {

    @TempDir
    Path dir;

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = EntangleCommand.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    static Path examples() {
        return Fixtures.root();
    }

    @Test
    void profilesALoraCheckpointAsOracleShapedJson() throws Exception {
        Run r = run("profile", examples().resolve("runs/lora-r4-a16/checkpoint-30").toString(), "--renyi", "2,3", "--compact");
        assertEquals(0, r.code(), r.err());
        JsonNode doc = JsonMapper.builder().build().readTree(r.out());
        assertEquals("natural", doc.get("log").asText());
        JsonNode q = doc.get("deltas").get("layers.0.q_proj");
        assertEquals(256, q.get("shape").get(0).intValue());
        JsonNode rc = q.get("profile").get(q.get("row_column_cut").intValue() - 1);
        assertEquals(256, rc.get("dL").intValue());
        assertTrue(rc.get("S").doubleValue() <= Math.log(4) + 1e-9);
        assertTrue(rc.has("S3"));
        assertEquals(4, doc.get("deltas").size());
    }

    @Test
    void profilesOneTensorAndWritesOutAtomically() throws Exception {
        Path out = dir.resolve("p.json");
        Run r = run("profile", "--tensor", examples().resolve("base/model.safetensors") + ":model.layers.1.self_attn.v_proj.weight",
                "--chi-max", "8", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.out());
        JsonNode doc = JsonMapper.builder().build().readTree(out.toFile());
        assertEquals(64, doc.get("shape").get(0).intValue());
        for (JsonNode c : doc.get("profile")) assertTrue(c.get("S").doubleValue() <= Math.log(8) + 1e-9);
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }

    @Test
    void badInputGetsOneLineNamingFileAndRule() throws Exception {
        byte[] all = Files.readAllBytes(examples().resolve("runs/lora-r4-a16/checkpoint-1/adapter_model.safetensors"));
        Path cut = Files.write(dir.resolve("cut.safetensors"), java.util.Arrays.copyOf(all, all.length / 2));
        Run r = run("profile", "--tensor", cut.toString());
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(cut.toString()) && r.err().contains("truncated file"), r.err());
        assertFalse(r.err().contains("Exception"), r.err());

        Run fft = run("profile", examples().resolve("runs/fft-lr1e-4/checkpoint-1").toString());
        assertEquals(2, fft.code());
        assertTrue(fft.err().contains("missing base for FFT"), fft.err());

        Run verbose = run("profile", "--tensor", cut.toString(), "--verbose");
        assertTrue(verbose.err().contains("CheckpointException"), "stack trace with --verbose");
    }

    /** The whole bad-input corpus through the command: exit 2, one line naming the rule, no trace. */
    @org.junit.jupiter.api.TestFactory
    java.util.stream.Stream<org.junit.jupiter.api.DynamicTest> badInputCorpus() {
        return dev.entangle.core.testing.BadInputs.all().stream().map(c -> org.junit.jupiter.api.DynamicTest.dynamicTest(c.name(), () -> {
            Path d = Files.createDirectories(dir.resolve(c.name().replaceAll("[^A-Za-z0-9]+", "-")));
            var b = c.builder().build(d);
            Run r = b.base() == null ? run("profile", b.checkpoint().toString())
                    : run("profile", b.checkpoint().toString(), "--base", b.base().toString());
            assertEquals(2, r.code(), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains(": " + c.rule()), r.err());
            assertEquals("", r.out());
        }));
    }

    @Test
    void usageErrorsExitNonZero() {
        assertEquals(2, run("profile").code());
        assertTrue(run("profile", "--renyi", "1").code() != 0);
    }
}
