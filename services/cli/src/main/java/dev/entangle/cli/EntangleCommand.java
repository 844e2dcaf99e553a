package dev.entangle.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code entangle} command. Services' commands (ingest, compare, up/down) join as subcommands. */
@Command(name = "entangle", mixinStandardHelpOptions = true, version = "entangle 0.1.0",
        description = "Artificial entanglement profiles of LLM fine-tuning checkpoints (arXiv 2601.06788).",
        subcommands = {ProfileCommand.class, IngestCommand.class, CompareCommand.class, PlotCommand.class, DemoCommand.class,
                CommandLine.HelpCommand.class},
        footer = {"", "Benchmarks (the bench module, run by the same launcher): ./entangle bench --help, ./entangle bench-stack --help"})
public final class EntangleCommand implements Runnable {

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
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new EntangleCommand());
        cl.setExecutionExceptionHandler(new Errors());
        return cl;
    }
}
