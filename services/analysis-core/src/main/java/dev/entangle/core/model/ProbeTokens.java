package dev.entangle.core.model;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.tensor.Tensorisation;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A probe sequence for the forward pass: T token ids, with the file (and the field in it) they
 * came from, which errors and reports name.
 */
public record ProbeTokens(int[] ids, Path origin, String field) {

    public ProbeTokens {
        ids = ids.clone();
    }

    @Override
    public int[] ids() { return ids.clone(); }

    /** T. */
    public int length() { return ids.length; }

    /**
     * Refuses a sequence the model cannot run: fewer than 2 tokens (no bipartition), more than
     * max_position_embeddings, or an id outside the vocabulary.
     */
    public void requireFits(LlamaConfig config) {
        if (ids.length < 2) {
            throw new CheckpointException(origin, field, "probe too short", ids.length + " token(s): attention profiles need T >= 2");
        }
        if (ids.length > config.maxPositions()) {
            throw new CheckpointException(origin, field, "probe longer than max_position_embeddings",
                    "T = " + ids.length + " tokens, the model's " + config.file().getFileName() + " allows " + config.maxPositions());
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= config.vocab()) {
                throw new CheckpointException(origin, field, "token id outside the vocabulary",
                        "token " + i + " is " + ids[i] + ", the model's vocab_size is " + config.vocab() + " (" + config.file() + ")");
            }
        }
    }

    /**
     * A warning when T has a large prime factor (larger than √T): the attention matrices' sites are
     * T's prime factors, so such a T leaves few sites and a coarse profile; empty otherwise.
     */
    public Optional<String> fewSitesWarning() {
        int[] f = Tensorisation.primeFactors(ids.length);
        if (f.length == 0) return Optional.empty();
        int largest = Arrays.stream(f).max().getAsInt();
        if ((long) largest * largest <= ids.length) return Optional.empty();
        String product = Arrays.stream(f).mapToObj(Integer::toString).collect(Collectors.joining(" × "));
        return Optional.of("T = " + ids.length + (f.length > 1 ? " = " + product : " is prime") + ": its prime factor " + largest
                + " exceeds √T, so each T × T attention matrix has only " + f.length + " site(s) per side and few cuts;"
                + " a T with small prime factors (e.g. 256, 1000, 1024) gives a finer profile");
    }

    /**
     * The sequence's identity, which results record and comparisons match on: "tokens-" and the
     * first 16 hex digits of the SHA-256 of its ids written in decimal, comma-separated. Two
     * probe sets with the same ids are the same set, wherever they came from.
     */
    public String setId() {
        return setId(ids);
    }

    /** {@link #setId()} of a sequence of token ids. */
    public static String setId(int[] ids) {
        StringBuilder text = new StringBuilder(ids.length * 4);
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) text.append(',');
            text.append(ids[i]);
        }
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(text.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return "tokens-" + java.util.HexFormat.of().formatHex(d).substring(0, 16);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
