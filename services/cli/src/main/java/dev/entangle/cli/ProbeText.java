package dev.entangle.cli;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.model.ProbeTokens;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A probe text tokenised with the base model's own {@code tokenizer.json} through DJL's
 * HuggingFace tokenizers (the Rust tokenizers library transformers uses), with the tokenizer's
 * own defaults: special tokens added as its post-processor says, as {@code tokenizer(text)} does
 * in transformers; no truncation. The text is the file's UTF-8 content, as it is.
 */
final class ProbeText {

    static final String TOKENIZER_FILE = "tokenizer.json";

    private ProbeText() {}

    static ProbeTokens tokenize(Path textFile, Path tokenizerDir) {
        Path json = Files.isDirectory(tokenizerDir) ? tokenizerDir.resolve(TOKENIZER_FILE) : tokenizerDir;
        if (!Files.isRegularFile(json)) {
            throw new CheckpointException(json, null, "tokenizer missing",
                    "--probe-text needs the base model's tokenizer.json; name its folder with --tokenizer DIR");
        }
        String text = read(textFile);
        long[] ids;
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.builder().optTokenizerPath(json).optTruncation(false).build()) {
            Encoding e = tokenizer.encode(text);
            ids = e.getIds();
        } catch (IOException | RuntimeException e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
            throw new CheckpointException(json, null, "tokenizer not readable", msg, e);
        }
        int[] out = new int[ids.length];
        for (int i = 0; i < out.length; i++) out[i] = Math.toIntExact(ids[i]);
        return new ProbeTokens(out, textFile, null);
    }

    private static String read(Path file) {
        if (!Files.isRegularFile(file)) throw new CheckpointException(file, null, "probe text missing", "no such file");
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointException(file, null, "probe text not UTF-8", e.getMessage());
        } catch (IOException e) {
            throw new CheckpointException(file, null, "unreadable file", e.getMessage(), e);
        }
    }
}
