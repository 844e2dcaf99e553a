package dev.entangle.it;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.cli.EntangleCommand;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.stack.Component;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ./entangle demo} on the real stack, as a user runs it: every bundled checkpoint ingested
 * (or found already there), profiled, compared, reported and drawn. It runs after the other
 * classes (they may have ingested the same checkpoints: the demo takes them as they are).
 */
@ExtendWith(SharedStack.class)
@Order(Integer.MAX_VALUE)
class DemoTest {

    @TempDir
    Path figures;

    @Test
    void theDemoIngestsComparesReportsAndDraws() throws Exception {
        String host = "127.0.0.1:";
        CommandLine cl = EntangleCommand.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute("demo", "--examples", Fixtures.root().toString(), "--figures", figures.toString(), "--timeout", "300",
                "--ingest", host + SharedStack.stack().port(Component.INGEST), "--query", host + SharedStack.stack().port(Component.QUERY));
        String text = out.toString();
        assertEquals(0, code, err + "\n" + text);
        List<String> lines = text.lines().toList();

        assertTrue(text.contains("Ingesting " + Fixtures.checkpoints().size() + " example checkpoints"), text);
        assertTrue(lines.stream().anyMatch(l -> l.matches("\\s+all \\d+ units profiled in [0-9.]+ s")), "every unit profiled:\n" + text);
        // the comparison carries the oracle's numbers, cut by cut, for the three methods at step 150
        assertTrue(text.contains("lora-r16-a16@150") && text.contains("fft-lr1e-4@150"), "compared at their latest step:\n" + text);
        for (String run : List.of("lora-r16-a16", "fft-lr1e-4", "mps-r8-chi8-a16")) {
            assertTrue(lines.stream().anyMatch(l -> l.startsWith(run + " ")), run + " has its row of caps and metrics:\n" + text);
        }
        JsonNode lora = Fixtures.oracle(Fixtures.root().resolve("runs/lora-r16-a16/checkpoint-150")).get("deltas").get("layers.0.q_proj").get("profile");
        for (int k = 0; k < lora.size(); k++) {
            String cell = String.format(Locale.ROOT, "%15.6f", lora.get(k).get("S").doubleValue()).trim();
            int cut = k + 1;
            assertTrue(lines.stream().anyMatch(l -> l.startsWith(String.format(Locale.ROOT, "%4d ", cut)) && l.contains(cell)),
                    "LoRA's S at cut " + cut + " (" + cell + ") in the table:\n" + text);
        }
        // the no-hair report: one row per layer, internal spread above external
        for (int layer = 0; layer < 2; layer++) {
            int l = layer;
            String row = lines.stream().filter(x -> x.matches("\\s+" + l + "\\s+[0-9.]+\\s+[0-9.]+\\s+[0-9.]+")).findFirst()
                    .orElseThrow(() -> new AssertionError("no no-hair row for layer " + l + " in\n" + text));
            double ratio = Double.parseDouble(row.trim().split("\\s+")[3]);
            assertTrue(ratio > 1, "layer " + l + ": the weight updates differ across methods more than what the layer does: " + row);
        }
        assertTrue(text.contains("http://127.0.0.1:" + SharedStack.stack().port(Component.QUERY) + "/"), "the dashboard's address:\n" + text);
        for (String f : List.of("profiles-layers.0.q_proj", "timeline-mid_s-layers.0.q_proj", "attention-lora-r16-a16-layer0",
                "sweep-alpha-layers.0.q_proj")) {
            for (String ext : List.of(".svg", ".png")) {
                Path p = figures.resolve(f + ext);
                assertTrue(Files.size(p) > 1000, p + " written");
            }
        }
    }
}
