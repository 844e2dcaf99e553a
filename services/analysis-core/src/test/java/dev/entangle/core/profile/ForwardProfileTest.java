package dev.entangle.core.profile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.model.ProbeTokens;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.core.testing.TinyLlama;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The one-call API with probe tokens: each step-150 fixture copied without its probe file,
 * profiled from the forward pass on the probe's token ids, gives attention and XXᵀ profiles
 * equal to oracle_profiles.json within 1e-4 nats, every entry's source "forward"; and bad
 * input is one line naming the file, field and rule, before anything is computed.
 */
class ForwardProfileTest {

    static final double TOL = 1e-4;
    static final ProfileCalculator CALC = ProfileCalculator.fromEnvironment();

    @TempDir
    Path tmp;

    /** The checkpoint folder without its attention_probe.safetensors. */
    static Path withoutProbe(Path dir, Path into) throws IOException {
        Files.createDirectories(into);
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals(Checkpoint.ATTENTION_PROBE)) Files.copy(f, into.resolve(f.getFileName()));
            }
        }
        return into;
    }

    /** The probe's input_ids written as a JSON array of token ids. */
    static Path tokensJson(Path probeFile, Path into) throws IOException {
        ArrayNode ids = JsonNodeFactory.instance.arrayNode();
        try (SafetensorsFile f = SafetensorsFile.open(probeFile)) {
            for (double v : f.readDoubles(AttentionProbe.INPUT_IDS)) ids.add((long) v);
        }
        Files.writeString(into, ids.toString());
        return into;
    }

    @TestFactory
    Stream<DynamicTest> forwardProfilesEqualTheOracle() {
        return Fixtures.checkpoints().stream().filter(c -> c.getFileName().toString().equals("checkpoint-150"))
                .map(c -> DynamicTest.dynamicTest(Fixtures.label(c), () -> check(c)));
    }

    private void check(Path fixture) throws IOException {
        Path label = tmp.resolve(fixture.getParent().getFileName().toString());
        Path dir = withoutProbe(fixture, label.resolve("checkpoint"));
        ProbeTokens tokens = ProbeInput.read(tokensJson(fixture.resolve(Checkpoint.ATTENTION_PROBE), label.resolve("tokens.json")));
        assertEquals(256, tokens.length());
        Set<Path> before = forwardFolders();
        ObjectNode doc = new CheckpointProfiler(CALC).profile(
                new CheckpointProfiler.Request(dir, Fixtures.base(), null, null, null, false, tokens));
        assertEquals(before, forwardFolders(), "the forward pass's probe folder is removed");
        JsonNode oracle = Fixtures.oracle(fixture);
        assertEquals("forward", doc.get("checkpoint").get("probe_source").asText());
        assertEquals(256, doc.get("checkpoint").get("probe_tokens").intValue());
        assertFalse(doc.get("checkpoint").has("warnings"), "256 = 2^8 has 8 sites per side");
        double worst = 0;
        for (String section : new String[]{"attention", "outputs"}) {
            Set<String> expected = new HashSet<>();
            oracle.get(section).fieldNames().forEachRemaining(expected::add);
            Set<String> seen = new HashSet<>();
            doc.get(section).fieldNames().forEachRemaining(seen::add);
            assertEquals(expected, seen, Fixtures.label(fixture) + " " + section);
            for (String name : expected) {
                JsonNode ours = doc.get(section).get(name), theirs = oracle.get(section).get(name);
                assertEquals("forward", ours.get("source").asText());
                assertEquals(theirs.get("profile").size(), ours.get("profile").size(), name);
                for (int i = 0; i < theirs.get("profile").size(); i++) {
                    JsonNode a = ours.get("profile").get(i), b = theirs.get("profile").get(i);
                    assertEquals(b.get("dL").longValue(), a.get("dL").longValue());
                    assertEquals(b.get("S").doubleValue(), a.get("S").doubleValue(), TOL, Fixtures.label(fixture) + " " + name + " cut " + (i + 1) + " S");
                    assertEquals(b.get("S2").doubleValue(), a.get("S2").doubleValue(), TOL, Fixtures.label(fixture) + " " + name + " cut " + (i + 1) + " S2");
                    worst = Math.max(worst, Math.max(Math.abs(b.get("S").doubleValue() - a.get("S").doubleValue()),
                            Math.abs(b.get("S2").doubleValue() - a.get("S2").doubleValue())));
                }
            }
        }
        System.out.printf(java.util.Locale.ROOT, "%s: attention and XXᵀ from the forward pass within %.2e nats of the oracle%n",
                Fixtures.label(fixture), worst);
        // ΔW is profiled as before, beside the forward pass
        for (var it = oracle.get("deltas").fieldNames(); it.hasNext(); ) assertNotNull(doc.get("deltas").get(it.next()));
    }

    private static Set<Path> forwardFolders() throws IOException {
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return new HashSet<>(s.filter(p -> p.getFileName().toString().startsWith("entangle-forward-")).toList());
        }
    }

    // ---- bad input: one line naming the file, field and rule ----

    private CheckpointException refused(Path ckpt, Path base, ProbeTokens tokens) {
        return assertThrows(CheckpointException.class, () -> new CheckpointProfiler(CALC).profile(
                new CheckpointProfiler.Request(ckpt, base, null, null, null, false, tokens)));
    }

    private static void oneLine(CheckpointException e, String rule, Path file) {
        assertEquals(rule, e.rule(), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage() + " should name " + file);
    }

    private Path tiny(String name, Consumer<TinyLlama> edit) throws IOException {
        TinyLlama m = new TinyLlama();
        edit.accept(m);
        return m.write(tmp.resolve(name));
    }

    private ProbeTokens tokens(int... ids) throws IOException {
        Path f = tmp.resolve("tokens-" + ids.length + ".json");
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        for (int id : ids) a.add(id);
        Files.writeString(f, a.toString());
        return ProbeInput.read(f);
    }

    @Test
    void adapterWithoutBase() throws Exception {
        Path lora = Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-150");
        oneLine(refused(lora, null, tokens(1, 2, 3, 4)), "missing base for the forward pass", lora);
    }

    @Test
    void unsupportedModelType() throws Exception {
        Path m = tiny("gpt2", t -> t.config = c -> c.put("model_type", "gpt2"));
        CheckpointException e = refused(m, m, tokens(1, 2, 3, 4));
        oneLine(e, "unsupported model_type", m.resolve("config.json"));
        assertTrue(e.getMessage().contains("'gpt2'"), e.getMessage());
    }

    @Test
    void missingWeight() throws Exception {
        Path m = tiny("missing", t -> t.omit.add("model.layers.1.self_attn.k_proj.weight"));
        CheckpointException e = refused(m, m, tokens(1, 2, 3, 4));
        oneLine(e, "weight missing", m.resolve("model.safetensors"));
        assertEquals("model.layers.1.self_attn.k_proj.weight", e.tensor());
    }

    @Test
    void tokenIdOutsideTheVocabulary() throws Exception {
        Path m = tiny("vocab", t -> {});
        ProbeTokens tokens = tokens(1, 2, 40, 4);
        CheckpointException e = refused(m, m, tokens);
        oneLine(e, "token id outside the vocabulary", tokens.origin());
        assertTrue(e.getMessage().contains("token 2 is 40") && e.getMessage().contains("vocab_size is 40"), e.getMessage());
    }

    @Test
    void probeLongerThanTheContext() throws Exception {
        Path m = tiny("long", t -> {});
        ProbeTokens tokens = tokens(new int[65]);
        CheckpointException e = refused(m, m, tokens);
        oneLine(e, "probe longer than max_position_embeddings", tokens.origin());
        assertTrue(e.getMessage().contains("T = 65") && e.getMessage().contains("allows 64"), e.getMessage());
    }

    @Test
    void shapeDisagreesWithConfig() throws Exception {
        Path m = tiny("shape", t -> t.config = c -> c.put("intermediate_size", 32));
        CheckpointException e = refused(m, m, tokens(1, 2, 3, 4));
        oneLine(e, "shape disagrees with config.json", m.resolve("model.safetensors"));
        assertTrue(e.getMessage().contains("[32, 16]") && e.getMessage().contains("[24, 16]"), e.getMessage());
    }

    @Test
    void unsupportedRopeType() throws Exception {
        Path m = tiny("yarn", t -> t.config = c -> c.putObject("rope_parameters").put("rope_type", "yarn").put("factor", 4.0).put("rope_theta", 1e4));
        oneLine(refused(m, m, tokens(1, 2, 3, 4)), "unsupported rope_type", m.resolve("config.json"));
    }

    @Test
    void adapterTensorsTheForwardCannotApply() throws Exception {
        Path lora = withoutProbe(Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-150"), tmp.resolve("lora"));
        Path weights = lora.resolve(Checkpoint.ADAPTER_WEIGHTS);
        var w = new dev.entangle.core.safetensors.SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            for (String n : f.names()) w.add(n, f.info(n).dtype(), f.info(n).shape(), f.readDoubles(n));
        }
        w.add("base_model.model.model.embed_tokens.modules_to_save.default.weight", dev.entangle.core.safetensors.DType.F32,
                new long[]{2, 2}, new double[4]);
        w.write(weights);
        CheckpointException e = refused(lora, Fixtures.base(), tokens(1, 2, 3, 4));
        oneLine(e, "adapter tensor the forward pass cannot apply", weights);
    }

    @Test
    void probeTokenFilesAreChecked() throws Exception {
        Path bad = Files.writeString(tmp.resolve("bad.json"), "{\"ids\": [1, 2]}");
        CheckpointException e = assertThrows(CheckpointException.class, () -> ProbeInput.read(bad));
        oneLine(e, "probe tokens not a JSON array", bad);
        Path frac = Files.writeString(tmp.resolve("frac.json"), "[[1, 2.5]]");
        oneLine(assertThrows(CheckpointException.class, () -> ProbeInput.read(frac)), "probe token not an integer", frac);
        // a probe file's own input_ids [1, T] are probe tokens too
        Path probe = Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-150").resolve(Checkpoint.ATTENTION_PROBE);
        ProbeTokens fromProbe = ProbeInput.read(probe);
        assertEquals(256, fromProbe.length());
        assertEquals(AttentionProbe.INPUT_IDS, fromProbe.field());
    }

    @Test
    void aLargePrimeFactorIsSaid() throws Exception {
        Path m = tiny("prime", t -> {});
        int[] ids = new int[58];    // 58 = 2 × 29: two sites per side
        for (int i = 0; i < ids.length; i++) ids[i] = i % 40;
        ObjectNode doc = new CheckpointProfiler(CALC).profile(new CheckpointProfiler.Request(m, m, null, null, null, false, tokens(ids)));
        String w = doc.get("checkpoint").get("warnings").get(0).asText();
        assertTrue(w.contains("T = 58 = 2 × 29") && w.contains("few cuts"), w);
        assertEquals(w, doc.get("attention").get("layers.0.head.0").get("warnings").get(0).asText());
        assertEquals(3, doc.get("attention").get("layers.0.head.0").get("profile").size(), "sites 2, 29, 2, 29: three cuts");
        assertFalse(tokens(new int[64]).fewSitesWarning().isPresent());
    }
}
