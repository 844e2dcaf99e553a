package dev.entangle.bench;

import dev.entangle.cli.Errors;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The benchmarks' command line: {@code ./entangle bench | bench-stack} run this, not the
 * product's CLI, with the CLI's error reporting. The CUDA engine's GPU kit is {@link CudaBench}.
 */
@Command(name = "entangle", mixinStandardHelpOptions = true, version = "entangle 0.1.0",
        description = "Benchmarks of entangle: exact profiles against the numpy anchor, and upload → query on the running stack.",
        subcommands = {BenchCommand.class, StackBenchCommand.class, CommandLine.HelpCommand.class})
public final class EntangleBench implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line (also what tests drive). */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new EntangleBench());
        cl.setExecutionExceptionHandler(new Errors());
        return cl;
    }
}
