package dev.entangle.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.model.ProbeTokens;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The forward-pass contract of {@code entangle profile}: --probe-tokens and --probe-text give
 * attention and outputs from the checkpoint's own model ("source":"forward"), even beside a
 * probe file; --probe-text goes through DJL with a byte-level tokenizer.json over the fixtures'
 * 256 ids and equals --probe-tokens on the same ids; bad input is one line, exit 2.
 */
class ForwardCommandTest {

    @TempDir
    Path dir;

    static final JsonMapper JSON = JsonMapper.builder().build();

    static Path lora150() { return Fixtures.root().resolve("runs/lora-r16-a16/checkpoint-150"); }

    /** The checkpoint folder without its attention_probe.safetensors. */
    static Path withoutProbe(Path from, Path into) throws IOException {
        Files.createDirectories(into);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals(Checkpoint.ATTENTION_PROBE)) Files.copy(f, into.resolve(f.getFileName()));
            }
        }
        return into;
    }

    static Path tokensJson(int[] ids, Path file) throws IOException {
        ArrayNode a = JSON.createArrayNode();
        for (int id : ids) a.add(id);
        return Files.writeString(file, a.toString());
    }

    static int[] probeIds(Path checkpoint) {
        try (SafetensorsFile f = SafetensorsFile.open(checkpoint.resolve(Checkpoint.ATTENTION_PROBE))) {
            return java.util.Arrays.stream(f.readDoubles(AttentionProbe.INPUT_IDS)).mapToInt(v -> (int) v).toArray();
        }
    }

    @Test
    void probeTokensGiveTheOraclesAttentionFromTheForwardPass() throws Exception {
        Path ckpt = withoutProbe(lora150(), dir.resolve("lora"));
        Path tokens = tokensJson(probeIds(lora150()), dir.resolve("tokens.json"));
        ProfileCommandTest.Run r = ProfileCommandTest.run("profile", ckpt.toString(), "--base", Fixtures.base().toString(),
                "--probe-tokens", tokens.toString(), "--compact");
        assertEquals(0, r.code(), r.err());
        JsonNode doc = JSON.readTree(r.out());
        JsonNode oracle = Fixtures.oracle(lora150());
        assertEquals("forward", doc.get("checkpoint").get("probe_source").asText());
        assertEquals(tokens.toString(), doc.get("checkpoint").get("probe").asText());
        for (String section : List.of("attention", "outputs")) {
            assertEquals(oracle.get(section).size(), doc.get(section).size(), section);
            for (var it = oracle.get(section).fieldNames(); it.hasNext(); ) {
                String name = it.next();
                JsonNode ours = doc.get(section).get(name);
                assertEquals("forward", ours.get("source").asText(), name);
                JsonNode a = ours.get("profile"), b = oracle.get(section).get(name).get("profile");
                for (int i = 0; i < b.size(); i++) {
                    assertEquals(b.get(i).get("S").doubleValue(), a.get(i).get("S").doubleValue(), 1e-4, name + " cut " + (i + 1));
                    assertEquals(b.get(i).get("S2").doubleValue(), a.get(i).get("S2").doubleValue(), 1e-4, name + " cut " + (i + 1));
                }
            }
        }
        assertEquals(oracle.get("deltas").size(), doc.get("deltas").size(), "ΔW as before");
    }

    @Test
    void forwardPassWinsOverTheFoldersProbeFile() throws Exception {
        Path tokens = tokensJson(probeIds(lora150()), dir.resolve("tokens.json"));
        ProfileCommandTest.Run r = ProfileCommandTest.run("profile", lora150().toString(), "--base", Fixtures.base().toString(),
                "--probe-tokens", tokens.toString(), "--compact");
        assertEquals(0, r.code(), r.err());
        JsonNode doc = JSON.readTree(r.out());
        assertEquals("forward", doc.get("attention").get("layers.0.head.0").get("source").asText());
        assertEquals("forward", doc.get("attention").get("layers.1.head.7").get("source").asText(), "not 'rebuilt' from the probe file");
        assertEquals("forward", doc.get("outputs").get("layers.1.XXt").get("source").asText());
    }

    /**
     * A byte-level BPE tokenizer.json (GPT-2's byte-to-unicode alphabet, no merges): every UTF-8
     * byte of the text is one token, its id the byte's value, so its 256 ids are the fixtures'.
     */
    static Path byteLevelTokenizer(Path folder) throws IOException {
        List<Integer> bs = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) bs.add(b);
        for (int b = 0xA1; b <= 0xAC; b++) bs.add(b);
        for (int b = 0xAE; b <= 0xFF; b++) bs.add(b);
        List<Integer> cs = new ArrayList<>(bs);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (!bs.contains(b)) {
                bs.add(b);
                cs.add(256 + n++);
            }
        }
        ObjectNode t = JsonNodeFactory.instance.objectNode();
        t.put("version", "1.0");
        t.putNull("truncation");
        t.putNull("padding");
        t.putArray("added_tokens");
        t.putNull("normalizer");
        t.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", true);
        t.putNull("post_processor");
        t.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", true);
        ObjectNode model = t.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < 256; i++) vocab.put(new String(Character.toChars(cs.get(i))), bs.get(i));
        model.putArray("merges");
        Files.createDirectories(folder);
        Files.writeString(folder.resolve(ProbeText.TOKENIZER_FILE), t.toPrettyString());
        return folder;
    }

    /** 256 bytes of UTF-8: ASCII words and two-byte letters. */
    static String probeText() {
        StringBuilder s = new StringBuilder();
        String[] words = {"entanglement ", "Schmidt ", "χ-bond ", "Rényi ", "attention ", "Cardy "};
        for (int i = 0; s.toString().getBytes(StandardCharsets.UTF_8).length < 256; i++) s.append(words[i % words.length]);
        byte[] b = s.toString().getBytes(StandardCharsets.UTF_8);
        String text = new String(b, 0, 256, StandardCharsets.UTF_8);
        while (text.getBytes(StandardCharsets.UTF_8).length != 256) text = text.substring(0, text.length() - 1) + " ";
        return text;
    }

    @Test
    void probeTextThroughDjlEqualsProbeTokensOnTheSameIds() throws Exception {
        Path tokenizer = byteLevelTokenizer(dir.resolve("tokenizer"));
        Path text = Files.writeString(dir.resolve("probe.txt"), probeText());
        byte[] bytes = Files.readAllBytes(text);
        assertEquals(256, bytes.length);
        int[] expected = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) expected[i] = bytes[i] & 0xFF;
        ProbeTokens viaDjl = ProbeText.tokenize(text, tokenizer);
        assertArrayEquals(expected, viaDjl.ids(), "one token per UTF-8 byte, id = the byte");
        assertTrue(java.util.Arrays.stream(expected).anyMatch(id -> id >= 128), "the text reaches the upper half of the vocabulary");

        Path ckpt = withoutProbe(lora150(), dir.resolve("lora"));
        Path tokens = tokensJson(expected, dir.resolve("tokens.json"));
        ProfileCommandTest.Run fromText = ProfileCommandTest.run("profile", ckpt.toString(), "--base", Fixtures.base().toString(),
                "--probe-text", text.toString(), "--tokenizer", tokenizer.toString(), "--compact");
        assertEquals(0, fromText.code(), fromText.err());
        ProfileCommandTest.Run fromTokens = ProfileCommandTest.run("profile", ckpt.toString(), "--base", Fixtures.base().toString(),
                "--probe-tokens", tokens.toString(), "--compact");
        assertEquals(0, fromTokens.code(), fromTokens.err());
        JsonNode a = JSON.readTree(fromText.out()), b = JSON.readTree(fromTokens.out());
        assertEquals(b.get("attention"), a.get("attention"));
        assertEquals(b.get("outputs"), a.get("outputs"));
        assertEquals(b.get("deltas"), a.get("deltas"));
        assertEquals(tokenizer.toString(), a.get("checkpoint").get("tokenizer").asText());
        assertEquals(text.toString(), a.get("checkpoint").get("probe").asText());
    }

    @Test
    void tokenizerDefaultsToTheBaseFolder() throws Exception {
        Path base = dir.resolve("base");
        Files.createDirectories(base);
        try (Stream<Path> files = Files.list(Fixtures.base())) {
            for (Path f : files.toList()) Files.copy(f, base.resolve(f.getFileName()));
        }
        byteLevelTokenizer(base);
        Path text = Files.writeString(dir.resolve("probe.txt"), "the attention of the model on a short probe, ".repeat(2).substring(0, 64));
        ProfileCommandTest.Run r = ProfileCommandTest.run("profile", lora150().toString(), "--base", base.toString(),
                "--probe-text", text.toString(), "--compact");
        assertEquals(0, r.code(), r.err());
        JsonNode doc = JSON.readTree(r.out());
        assertEquals(base.toString(), doc.get("checkpoint").get("tokenizer").asText());
        assertEquals(64, doc.get("checkpoint").get("probe_tokens").intValue());
        assertEquals(64, doc.get("attention").get("layers.0.head.0").get("shape").get(0).intValue());
    }

    @Test
    void badInputIsOneLine() throws Exception {
        Path tokens = tokensJson(new int[]{1, 2, 3, 4}, dir.resolve("tokens.json"));
        ProfileCommandTest.Run noBase = ProfileCommandTest.run("profile", lora150().toString(), "--probe-tokens", tokens.toString());
        assertEquals(2, noBase.code());
        assertEquals(1, noBase.err().strip().lines().count(), noBase.err());
        assertTrue(noBase.err().contains(lora150().toString()) && noBase.err().contains(": missing base for the forward pass"), noBase.err());
        assertEquals("", noBase.out());

        ProfileCommandTest.Run textNoBase = ProfileCommandTest.run("profile", lora150().toString(), "--probe-text", tokens.toString());
        assertEquals(2, textNoBase.code());
        assertTrue(textNoBase.err().contains(": missing base for the forward pass"), textNoBase.err());

        ProfileCommandTest.Run noTokenizer = ProfileCommandTest.run("profile", lora150().toString(), "--base", Fixtures.base().toString(),
                "--probe-text", tokens.toString());
        assertEquals(2, noTokenizer.code());
        assertTrue(noTokenizer.err().contains(Fixtures.base().resolve("tokenizer.json") + ": tokenizer missing"), noTokenizer.err());

        Path big = tokensJson(new int[]{1, 2, 300}, dir.resolve("big.json"));
        ProfileCommandTest.Run outside = ProfileCommandTest.run("profile", lora150().toString(), "--base", Fixtures.base().toString(),
                "--probe-tokens", big.toString());
        assertEquals(2, outside.code());
        assertTrue(outside.err().contains(big + ": token id outside the vocabulary"), outside.err());

        ProfileCommandTest.Run both = ProfileCommandTest.run("profile", lora150().toString(), "--base", Fixtures.base().toString(),
                "--probe-tokens", tokens.toString(), "--probe", lora150().resolve(Checkpoint.ATTENTION_PROBE).toString());
        assertEquals(2, both.code());
        assertFalse(both.err().contains("Exception"), both.err());
    }

    @Test
    void ingestsProbeOptionsAreCheckedBeforeAnythingIsSent() throws IOException {
        Path tokens = tokensJson(new int[]{1, 2, 3, 4}, dir.resolve("ids.json"));
        // nothing listens there: each refusal comes before any connection
        String nowhere = "127.0.0.1:1";
        ProfileCommandTest.Run noBase = ProfileCommandTest.run("ingest", lora150().toString(), "--probe-tokens", tokens.toString(), "--ingest", nowhere);
        assertEquals(2, noBase.code(), noBase.err());
        assertTrue(noBase.err().contains("give --base-model NAME"), noBase.err());
        ProfileCommandTest.Run both = ProfileCommandTest.run("ingest", Fixtures.base().toString(), "--base-model", "b", "--probe-tokens", tokens.toString(),
                "--probe-text", tokens.toString(), "--ingest", nowhere);
        assertEquals(2, both.code(), both.err());
        assertTrue(both.err().contains("give one of --probe-tokens and --probe-text"), both.err());
        ProfileCommandTest.Run noTokenizer = ProfileCommandTest.run("ingest", Fixtures.base().toString(), "--base-model", "b",
                "--probe-text", tokens.toString(), "--ingest", nowhere);
        assertEquals(2, noTokenizer.code(), noTokenizer.err());
        assertTrue(noTokenizer.err().contains(Fixtures.base().resolve("tokenizer.json") + ": tokenizer missing"), noTokenizer.err());
    }
}
