package dev.entangle.stack;

/** A process for the supervision tests: runs until stopped, or exits at once with "exit". */
public final class Sleeper {

    private Sleeper() {}

    public static void main(String[] args) throws InterruptedException {
        if (args.length > 0 && args[0].equals("exit")) System.exit(3);
        Thread.sleep(120_000);
    }
}
