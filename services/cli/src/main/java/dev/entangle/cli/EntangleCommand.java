package dev.entangle.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.List;

/** The {@code entangle} command. Services' commands (ingest, compare, up/down) join as subcommands. */
@Command(name = "entangle", mixinStandardHelpOptions = true, version = "entangle 0.1.0",
        description = "Artificial entanglement profiles of LLM fine-tuning checkpoints (arXiv 2601.06788).",
        footer = {"", "Benchmarks (the bench module, run by the same launcher): ./entangle bench --help, ./entangle bench-stack --help"})
public final class EntangleCommand implements Runnable {

    /** The subcommands, in the order the help lists them (each is named by its own {@code @Command}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(ProfileCommand.class, IngestCommand.class, CompareCommand.class,
            PlotCommand.class, DemoCommand.class, CommandLine.HelpCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static void main(String[] args) {
        int rc = commandLine(args).execute(args);
        if (rc != 0 || otherThreadsKeepRunning()) System.exit(rc);
        // A success ends by returning: the JVM's own shutdown (hooks included) follows. System.exit would
        // first log the exit through System.Logger (JDK 21+), whose first use opens every one of the
        // class path's 70 jars to look for a logger service.
    }

    /** Whether a live non-daemon thread besides this one would keep the JVM up after main returns. */
    private static boolean otherThreadsKeepRunning() {
        Thread self = Thread.currentThread();
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t != self && t.isAlive() && !t.isDaemon());
    }

    /** The configured command line with every subcommand (also what tests drive). */
    public static CommandLine commandLine() {
        return commandLine(SUBCOMMANDS);
    }

    /**
     * The command line for one run: where the first argument names a subcommand, with that one
     * alone, since picocli reads the annotations, fields and mixins of every command it is given
     * before it parses anything; otherwise (help, {@code help COMMAND}, a typo to suggest a name
     * for) with them all.
     */
    static CommandLine commandLine(String[] args) {
        if (args.length > 0) {
            for (Class<?> c : SUBCOMMANDS) {
                if (c != CommandLine.HelpCommand.class && c.getAnnotation(Command.class).name().equals(args[0])) return commandLine(List.of(c));
            }
        }
        return commandLine();
    }

    private static CommandLine commandLine(List<Class<?>> subcommands) {
        CommandLine cl = new CommandLine(new EntangleCommand());
        for (Class<?> c : subcommands) cl.addSubcommand(c);
        cl.setExecutionExceptionHandler(new Errors());
        return cl;
    }
}
