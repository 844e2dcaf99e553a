package dev.entangle.cli;

import dev.entangle.core.model.ProbeTokens;
import dev.entangle.core.profile.ProbeInput;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * The probe sequence of a forward pass, as {@code profile} and {@code ingest --base-model} take it:
 * token ids from a file, or a UTF-8 text tokenised with a tokenizer.json (DJL's HuggingFace
 * tokenizers, {@link ProbeText}).
 */
final class ProbeSequence {

    @Option(names = "--probe-tokens", paramLabel = "FILE", description = "Token ids of a probe sequence for the model's forward pass "
            + "(a JSON array, or a safetensors input_ids [1, T]), whose attention and XXᵀ are profiled.")
    Path tokens;

    @Option(names = "--probe-text", paramLabel = "FILE", description = "As --probe-tokens, this UTF-8 text tokenised with the base model's tokenizer.json.")
    Path text;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "Folder of the tokenizer.json for --probe-text (default: the base model's folder).")
    Path tokenizer;

    /** Whether a sequence was asked for. */
    boolean given() {
        return tokens != null || text != null;
    }

    /**
     * The sequence, or null when none was asked for; --probe-text is tokenised with --tokenizer's
     * tokenizer.json, else {@code defaultTokenizer}'s (asked only then).
     */
    ProbeTokens read(Supplier<Path> defaultTokenizer) {
        if (tokens != null && text != null) throw new IllegalArgumentException("give one of --probe-tokens and --probe-text");
        if (tokenizer != null && text == null) throw new IllegalArgumentException("--tokenizer applies to --probe-text only");
        if (tokens != null) return ProbeInput.read(tokens);
        if (text == null) return null;
        return ProbeText.tokenize(text, tokenizer(defaultTokenizer));
    }

    /** The tokenizer folder given, or the default. */
    Path tokenizer(Supplier<Path> defaultTokenizer) {
        return tokenizer != null ? tokenizer : defaultTokenizer.get();
    }
}
