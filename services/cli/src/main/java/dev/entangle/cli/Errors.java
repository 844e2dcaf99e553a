package dev.entangle.cli;

import dev.entangle.core.CheckpointException;
import picocli.CommandLine;

/**
 * Errors reach the user as one line on stderr naming the file, tensor and rule broken, and a
 * non-zero exit code: 2 for bad input, 1 for anything else. {@code --verbose} adds the trace.
 * Public for the benches' command line, which reports errors the same way.
 */
public final class Errors implements CommandLine.IExecutionExceptionHandler {

    static final int BAD_INPUT = 2;
    static final int INTERNAL = 1;

    /** A service's refusal as a one-line error (INVALID_ARGUMENT carries the rule broken). */
    static RuntimeException remote(String endpoint, io.grpc.StatusRuntimeException s) {
        String d = s.getStatus().getDescription() == null ? "" : s.getStatus().getDescription();
        return switch (s.getStatus().getCode()) {
            case INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION -> new IllegalArgumentException(d);
            case UNAVAILABLE -> new IllegalStateException(endpoint + " unavailable (is the stack up? ./entangle up): " + d);
            default -> new IllegalStateException(endpoint + ": " + s.getStatus().getCode() + " " + d);
        };
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        boolean verbose = parsed.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"))
                || parsed.hasMatchedOption("--verbose");
        var err = cl.getErr();
        if (verbose) ex.printStackTrace(err);
        if (ex instanceof IllegalStateException && !verbose) {
            err.println("entangle: " + ex.getMessage());
            err.flush();
            return INTERNAL;
        }
        if (ex instanceof CheckpointException || ex instanceof IllegalArgumentException) {
            err.println("entangle: " + ex.getMessage());
            err.flush();
            return BAD_INPUT;
        }
        err.println("entangle: internal error: " + ex + (verbose ? "" : " (rerun with --verbose for the trace)"));
        err.flush();
        return INTERNAL;
    }

    /** {@code --verbose}: read back by {@link #handleExecutionException} from the parse result. */
    public static final class VerboseOption {
        @picocli.CommandLine.Option(names = "--verbose", description = "Stack traces on errors.")
        boolean verbose;
    }
}
