package dev.entangle.core;

import java.nio.file.Path;

/**
 * Bad input: a file, tensor or setting that breaks one named rule. The message always reads
 * {@code FILE[:TENSOR]: RULE: detail} so that a CLI, a gRPC status or a dead-letter record can
 * show it as one line.
 */
public class CheckpointException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String tensor;
    private final String rule;

    public CheckpointException(Path file, String tensor, String rule, String detail) {
        this(file, tensor, rule, detail, null);
    }

    public CheckpointException(Path file, String tensor, String rule, String detail, Throwable cause) {
        super(format(file, tensor, rule, detail), cause);
        this.file = file;
        this.tensor = tensor;
        this.rule = rule;
    }

    private static String format(Path file, String tensor, String rule, String detail) {
        StringBuilder sb = new StringBuilder();
        sb.append(file == null ? "<input>" : file.toString());
        if (tensor != null) sb.append(':').append(tensor);
        sb.append(": ").append(rule);
        if (detail != null && !detail.isEmpty()) sb.append(": ").append(detail);
        return sb.toString();
    }

    /** The offending file, or null when the input was not a file. */
    public Path file() { return file; }

    /** The offending tensor name, or null when the rule is about the file as a whole. */
    public String tensor() { return tensor; }

    /** A short, stable name of the rule broken (e.g. "offsets overlap"); usable as a metric label. */
    public String rule() { return rule; }
}
