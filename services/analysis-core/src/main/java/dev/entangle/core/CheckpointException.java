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
    private final String where;
    private final String tensor;
    private final String rule;
    private final String detail;

    public CheckpointException(Path file, String tensor, String rule, String detail) {
        this(file, tensor, rule, detail, null);
    }

    public CheckpointException(Path file, String tensor, String rule, String detail, Throwable cause) {
        this(file, file == null ? null : file.toString(), tensor, rule, detail, cause);
    }

    private CheckpointException(Path file, String where, String tensor, String rule, String detail, Throwable cause) {
        super(format(where, tensor, rule, detail), cause);
        this.file = file;
        this.where = where;
        this.tensor = tensor;
        this.rule = rule;
        this.detail = detail;
    }

    private static String format(String where, String tensor, String rule, String detail) {
        StringBuilder sb = new StringBuilder();
        sb.append(where == null ? "<input>" : where);
        if (tensor != null) sb.append(':').append(tensor);
        sb.append(": ").append(rule);
        if (detail != null && !detail.isEmpty()) sb.append(": ").append(detail);
        return sb.toString();
    }

    /**
     * The same refusal, told in the user's terms: a checkpoint read from a private copy (an
     * upload's spool folder, objects downloaded from the store) names the folder as the user knows
     * it. Every mention of {@code localDir} — as the file and inside the detail — becomes
     * {@code shownAs} (a path or an {@code s3://bucket/prefix}), and a refusal that named no file
     * names the folder; a file outside it (a registered base) stays as it is.
     */
    public CheckpointException shownAs(Path localDir, String shownAs) {
        String local = localDir.toString();
        String w = where;
        if (file != null && file.startsWith(localDir)) {
            String rel = localDir.relativize(file).toString();
            w = rel.isEmpty() ? shownAs : shownAs + "/" + rel;
        }
        if (w == null) w = shownAs;   // a rule about the upload as a whole
        String d = detail == null ? null : detail.replace(local, shownAs);
        CheckpointException e = new CheckpointException(file, w, tensor, rule, d, getCause());
        e.setStackTrace(getStackTrace());
        return e;
    }

    /** The offending file as analysis read it, or null when the input was not a file. */
    public Path file() { return file; }

    /** Where the refusal points, as the message shows it: the file, or the user's name of it ({@link #shownAs}). */
    public String where() { return where; }

    /** The offending tensor name, or null when the rule is about the file as a whole. */
    public String tensor() { return tensor; }

    /** A short, stable name of the rule broken (e.g. "offsets overlap"); usable as a metric label. */
    public String rule() { return rule; }

    /** What exactly broke the rule (may be null). */
    public String detail() { return detail; }
}
