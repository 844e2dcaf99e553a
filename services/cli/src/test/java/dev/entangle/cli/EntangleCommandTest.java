package dev.entangle.cli;

import dev.entangle.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A run builds only the subcommand it names; help and unknown names see them all. */
class EntangleCommandTest {

    private static final Set<String> ALL = Set.of("profile", "ingest", "compare", "plot", "demo", "help");

    @Test
    void aNamedSubcommandIsBuiltAlone() {
        assertEquals(Set.of("profile"), EntangleCommand.commandLine(new String[]{"profile", "--tensor", "x"}).getSubcommands().keySet());
        assertEquals(Set.of("demo"), EntangleCommand.commandLine(new String[]{"demo"}).getSubcommands().keySet());
    }

    @Test
    void helpAndAnythingElseSeeEverySubcommand() {
        for (String[] args : List.of(new String[]{}, new String[]{"--help"}, new String[]{"help", "profile"}, new String[]{"profil"})) {
            assertEquals(ALL, EntangleCommand.commandLine(args).getSubcommands().keySet(), String.join(" ", args));
        }
        assertEquals(ALL, EntangleCommand.commandLine().getSubcommands().keySet());
        StringWriter err = new StringWriter();
        CommandLine cl = EntangleCommand.commandLine(new String[]{"profil"});
        cl.setErr(new PrintWriter(err));
        assertEquals(2, cl.execute("profil"));
        assertTrue(err.toString().contains("profile"), err.toString());   // picocli suggests the name
    }

    @Test
    void theLoneSubcommandPrintsWhatTheFullCommandLineDoes() {
        String tensor = Fixtures.root().resolve("base/model.safetensors") + ":model.layers.0.self_attn.v_proj.weight";
        String[] args = {"profile", "--tensor", tensor, "--compact"};
        assertEquals(run(EntangleCommand.commandLine(), args), run(EntangleCommand.commandLine(args), args));
    }

    private static String run(CommandLine cl, String[] args) {
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out));
        assertEquals(0, cl.execute(args));
        return out.toString();
    }
}
